import { describeJsonError } from "../files/json-syntax-error.js";
import { applyEdits, findNodeAtLocation, getNodeValue, modify, parseTree, type Node, type ParseError } from "jsonc-parser";

/** A client file we will not touch because we cannot read it safely; the message says where it is broken. */
export class MalformedFile extends Error {
  override name = "MalformedFile";
}

/**
 * A JSON file as text, edited in place: comments, key order, indentation and line endings stay as the user
 * (or the client) wrote them, and only the values we replace change. Parsing tolerates what clients accept:
 * comments (VS Code's JSONC) and trailing commas.
 */
export class JsoncDocument {
  private root: Node | undefined;

  constructor(
    public text: string,
    private readonly path: string,
  ) {
    this.root = this.parse(text);
  }

  /** The value at `keys`, as JSON data. */
  value(keys: string[]): unknown {
    const node = this.node(keys);
    return node ? getNodeValue(node) : undefined;
  }

  /** The exact text of the value at `keys`, as it is in the file. */
  raw(keys: string[]): string | undefined {
    const node = this.node(keys);
    return node ? this.text.slice(node.offset, node.offset + node.length) : undefined;
  }

  /** Sets the value at `keys` (creating the path), formatted like the rest of the file. */
  set(keys: string[], value: unknown): void {
    const edits = modify(this.text, keys, value, { formattingOptions: this.formatting() });
    this.update(applyEdits(this.text, edits));
  }

  /** Replaces the value at `keys` with exactly `raw` (how uninstall puts back what was there, byte for byte). */
  replaceRaw(keys: string[], raw: string): void {
    const node = this.node(keys);
    if (!node) throw new Error(`${keys.join(".")} is not in ${this.path}`);
    this.update(this.text.slice(0, node.offset) + raw + this.text.slice(node.offset + node.length));
  }

  private node(keys: string[]): Node | undefined {
    return this.root ? findNodeAtLocation(this.root, keys) : undefined;
  }

  private update(text: string): void {
    this.root = this.parse(text);
    this.text = text;
  }

  private parse(text: string): Node | undefined {
    if (text.trim() === "") return undefined;
    const errors: ParseError[] = [];
    const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
    if (errors.length) {
      const error = errors[0]!;
      throw new MalformedFile(`${this.path} is not valid JSON (${describeJsonError(text, error)}); it was left untouched`);
    }
    if (root?.type !== "object") throw new MalformedFile(`${this.path} does not hold a JSON object; it was left untouched`);
    return root;
  }

  /** The file's own style: tabs or N spaces, and its line ending. */
  private formatting(): { insertSpaces: boolean; tabSize: number; eol: string } {
    const eol = this.text.includes("\r\n") ? "\r\n" : "\n";
    const indented = /\n([ \t]+)\S/.exec(this.text)?.[1];
    if (indented?.startsWith("\t")) return { insertSpaces: false, tabSize: 1, eol };
    return { insertSpaces: true, tabSize: indented?.length || 2, eol };
  }
}
