import type { SessionPort } from "./backend.js";

/** Tasks remembered at most: a server that makes tasks without end cannot grow the daemon without end. */
const MAX_TASKS = 10_000;

/**
 * Which session each task of a shared child belongs to (MCP 2025-11-25 tasks): the session whose request created
 * it. A session lists, gets, cancels and hears about its own tasks only; another's task id is unknown to it, as it
 * would be to a private server.
 */
export class TaskOwners {
  private readonly owners = new Map<string, SessionPort>();

  /** Notes the task an answer created, if it created one (`result.task.taskId`). */
  created(session: SessionPort, result: unknown): void {
    const taskId = (result as { task?: { taskId?: unknown } } | undefined)?.task?.taskId;
    if (typeof taskId !== "string") return;
    this.owners.set(taskId, session);
    if (this.owners.size > MAX_TASKS) this.owners.delete(this.owners.keys().next().value!);
  }

  ownerOf(taskId: unknown): SessionPort | undefined {
    return typeof taskId === "string" ? this.owners.get(taskId) : undefined;
  }

  /** A `tasks/list` result with only the session's own tasks in it. */
  listFor(session: SessionPort, result: Record<string, unknown>): Record<string, unknown> {
    if (!Array.isArray(result.tasks)) return result;
    const own = (result.tasks as Array<{ taskId?: unknown }>).filter((task) => this.ownerOf(task.taskId) === session);
    return { ...result, tasks: own };
  }

  /** The session ended: its tasks are nobody's, and stay unknown to every other session. */
  drop(session: SessionPort): void {
    for (const [taskId, owner] of this.owners) if (owner === session) this.owners.delete(taskId);
  }
}
