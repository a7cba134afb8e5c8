import { ParseErrorCode, type ParseError } from "jsonc-parser";

/** What each of the parser's error codes means, for people. */
const SAYS: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.CommaExpected]: "a comma is missing",
  [ParseErrorCode.ColonExpected]: "a colon is missing",
  [ParseErrorCode.PropertyNameExpected]: "a property name in double quotes was expected",
  [ParseErrorCode.ValueExpected]: "a value was expected",
  [ParseErrorCode.CloseBraceExpected]: "a closing } is missing",
  [ParseErrorCode.CloseBracketExpected]: "a closing ] is missing",
  [ParseErrorCode.EndOfFileExpected]: "there is text after the end",
  [ParseErrorCode.UnexpectedEndOfString]: "a string is not closed",
  [ParseErrorCode.UnexpectedEndOfComment]: "a comment is not closed",
  [ParseErrorCode.InvalidSymbol]: "there is a character that does not belong",
  [ParseErrorCode.InvalidCharacter]: "a string holds a control character",
  [ParseErrorCode.InvalidEscapeCharacter]: "a string holds an invalid escape",
  [ParseErrorCode.InvalidNumberFormat]: "a number is malformed",
};

/** `a comma is missing at line 4, column 29`: the first syntax error of `text`, where it is. */
export function describeJsonError(text: string, error: ParseError): string {
  const before = text.slice(0, error.offset);
  const line = before.split("\n").length;
  const column = error.offset - before.lastIndexOf("\n");
  return `${SAYS[error.error] ?? "it does not parse"} at line ${line}, column ${column}`;
}
