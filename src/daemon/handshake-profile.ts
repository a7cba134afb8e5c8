import { createHash } from "node:crypto";

/**
 * What in a client's `initialize` a server may answer differently: the protocol version it asks for, its name,
 * and its capabilities (roots, sampling, elicitation, tasks, extensions, with their flags). Sessions share a
 * child only when these are alike, because the child is initialized once and then answers as it would have
 * answered the first of them. Several windows of one client share a child; another client gets its own.
 * Returns a short key, readable for status: `<client>/<version>/<hash of all three>` (the hash decides; the
 * names, cut and cleaned of anything but plain characters, are for people).
 */
export function handshakeProfile(params: Record<string, unknown> | undefined): string {
  const clientInfo = params?.clientInfo as { name?: unknown } | undefined;
  const name = typeof clientInfo?.name === "string" ? clientInfo.name : "unnamed";
  const version = typeof params?.protocolVersion === "string" ? params.protocolVersion : "unknown";
  const hash = createHash("sha256")
    .update(canonical([name, version, params?.capabilities ?? {}]))
    .digest("hex")
    .slice(0, 12);
  const readable = (text: string) => text.replace(/[^\w.@-]/g, "_").slice(0, 40);
  return `${readable(name)}/${readable(version)}/${hash}`;
}

/** Whether a client can be asked anything by a server (it declared roots, sampling or elicitation). */
export function canBeAsked(params: Record<string, unknown> | undefined): boolean {
  const capabilities = (params?.capabilities ?? {}) as Record<string, unknown>;
  return ["roots", "sampling", "elicitation"].some((capability) => capabilities[capability] !== undefined);
}

/** JSON with object keys sorted at every level, so that equal capabilities give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
