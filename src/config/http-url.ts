/**
 * The one test for a server URL a user gives (a config entry's `url`, `mcp-proxy --url`): it parses, and it is
 * http or https. Anything else would fail later with a bare "Invalid URL", or be spoken to as HTTP anyway.
 */
export function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}
