/** Why a config cannot be used: it cannot be read, it is not JSON, or a key holds what it may not. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    message: string,
    readonly problem: "unreadable" | "syntax" | "content" = "content",
  ) {
    super(message);
  }
}
