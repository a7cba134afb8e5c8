import type { Outgoing } from "./upstream-link.js";

/**
 * Far more than a client sends while it waits for an answer, few enough that a client flooding a slow upstream
 * cannot grow the process that relays it without end.
 */
const MAX_MESSAGES = 10_000;
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The client's messages waiting, in order, while no upstream session is set up; bounded both in number and in
 * size. A message alone always fits, however large: the line reader has bounded it already.
 */
export class WaitingMessages {
  private messages: Outgoing[] = [];
  private bytes = 0;

  /** Queues `outgoing`, or says why it cannot wait. */
  add(outgoing: Outgoing): string | undefined {
    const size = outgoing.bytes?.length ?? outgoing.text.length;
    if (this.messages.length >= MAX_MESSAGES) return `more than ${MAX_MESSAGES} messages are waiting`;
    if (this.messages.length > 0 && this.bytes + size > MAX_BYTES)
      return `more than ${MAX_BYTES / 1024 / 1024} MiB of messages are waiting`;
    this.messages.push(outgoing);
    this.bytes += size;
    return undefined;
  }

  /** Everything waiting, oldest first; the queue is empty after. */
  takeAll(): Outgoing[] {
    const messages = this.messages;
    this.messages = [];
    this.bytes = 0;
    return messages;
  }
}
