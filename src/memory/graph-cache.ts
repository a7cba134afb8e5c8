import { keepGraphText } from "./graph-text.js";
import type { Entity, KnowledgeGraph, Relation } from "./store.js";

/** One entity's or relation's share of the graph's texts, made once while it does not change. */
interface Piece {
  /** As it sits in the indented graph (inside an array, two levels deep). */
  indented: string;
  /** The same, escaped as it sits inside the JSON string that carries the indented graph, as UTF-8. */
  escaped: Buffer;
  /** As it sits in the compact graph, as UTF-8. */
  compact: Buffer;
}

interface Entry<T> {
  value: T;
  piece?: Piece;
  /**
   * Where the item sits in the last result made (its escaped and its compact form, each with the separator
   * before it when it was not first): an unchanged run of items is copied from there in one go.
   */
  at?: { source: Buffer; escaped: Range; compact: Range; first: boolean };
}

/** Start and end of a span of bytes. */
type Range = [number, number];

function pieceOf(value: object): Piece {
  // Inside the whole graph's indented text, each item is indented two levels: its own lines, four spaces more.
  // JSON strings hold no raw newline, so every newline here is layout.
  const indented = `    ${JSON.stringify(value, null, 2).replaceAll("\n", "\n    ")}`;
  return { indented, escaped: Buffer.from(JSON.stringify(indented).slice(1, -1)), compact: Buffer.from(JSON.stringify(value)) };
}

const sameEntity = (a: Entity, b: Entity) =>
  a.name === b.name &&
  a.entityType === b.entityType &&
  a.observations.length === b.observations.length &&
  a.observations.every((observation, i) => observation === b.observations[i]);
const sameRelation = (a: Relation, b: Relation) => a.from === b.from && a.to === b.to && a.relationType === b.relationType;

/**
 * The whole graph as the store last read it, by row id in insertion order, with each item's texts kept while the
 * item does not change: after a write only what it touched is read again and serialised again, and the whole
 * graph's text (megabytes at 10,000 entities) is joined from the kept pieces instead of made anew.
 */
export class GraphCache {
  private entities = new Map<number, Entry<Entity>>();
  private relations = new Map<number, Entry<Relation>>();
  private current: KnowledgeGraph | undefined;

  /** Everything, as read: items equal to what was kept keep their texts. */
  replaceAll(entities: Array<[number, Entity]>, relations: Array<[number, Relation]>): void {
    this.entities = merged(this.entities, entities, sameEntity);
    this.relations = merged(this.relations, relations, sameRelation);
    this.current = undefined;
  }

  /** One entity as it now is, or gone (undefined). */
  setEntity(id: number, entity: Entity | undefined): void {
    if (entity === undefined) this.entities.delete(id);
    else if (!this.entities.has(id) || !sameEntity(this.entities.get(id)!.value, entity)) {
      // Ids only grow: a new one belongs at the end, where Map puts it; a changed one keeps its place.
      this.entities.set(id, { value: entity });
    }
    this.current = undefined;
  }

  setRelations(relations: Array<[number, Relation]>): void {
    this.relations = merged(this.relations, relations, sameRelation);
    this.current = undefined;
  }

  /** The graph as kept: one object until the next change, with its texts made on first use. */
  graph(): KnowledgeGraph {
    if (this.current) return this.current;
    const entities = [...this.entities.values()];
    const relations = [...this.relations.values()];
    const graph: KnowledgeGraph = { entities: entities.map((entry) => entry.value), relations: relations.map((entry) => entry.value) };
    const pieces = () => [entities.map(piece), relations.map(piece)] as const;
    keepGraphText(graph, {
      indented: () => {
        const [e, r] = pieces();
        const list = (items: Piece[]) => (items.length === 0 ? "[]" : `[\n${items.map((item) => item.indented).join(",\n")}\n  ]`);
        return `{\n  "entities": ${list(e)},\n  "relations": ${list(r)}\n}`;
      },
      result: () => {
        // The same layout as `indented`, escaped (the text content), then the compact graph, as bytes. What did
        // not change since the last result is copied from it in runs: after a write, a few copies instead of
        // one per item.
        const [e, r] = pieces();
        const out = new Runs();
        // Where each item lands in this result, by list and form: set as they are written, kept once it is made.
        const landed = new Map<Array<Entry<object>>, Record<"escaped" | "compact", Range[]>>();
        const list = (items: Array<Entry<object>>, pieceList: readonly Piece[], kind: "escaped" | "compact") => {
          if (items.length === 0) return out.bytes(bytes.empty);
          const separator = kind === "escaped" ? bytes.escapedNext : bytes.next;
          const spots: Range[] = new Array<Range>(items.length);
          out.bytes(kind === "escaped" ? bytes.escapedOpen : bytes.open);
          for (let i = 0; i < items.length; i++) {
            const start = out.length;
            const at = items[i]!.at;
            if (at !== undefined && at.first === (i === 0)) {
              const span = at[kind];
              out.range(at.source, span[0], span[1]);
            } else {
              if (i > 0) out.bytes(separator);
              out.bytes(pieceList[i]![kind]);
            }
            spots[i] = [start, out.length];
          }
          out.bytes(kind === "escaped" ? bytes.escapedClose : bytes.close);
          const forms = landed.get(items) ?? { escaped: [], compact: [] };
          forms[kind] = spots;
          landed.set(items, forms);
        };
        out.bytes(bytes.resultOpen);
        list(entities, e, "escaped");
        out.bytes(bytes.escapedBetween);
        list(relations, r, "escaped");
        out.bytes(bytes.escapedEnd);
        list(entities, e, "compact");
        out.bytes(bytes.compactBetween);
        list(relations, r, "compact");
        out.bytes(bytes.resultClose);
        const result = out.join();
        for (const [items, forms] of landed) {
          for (let i = 0; i < items.length; i++)
            items[i]!.at = { source: result, escaped: forms.escaped[i]!, compact: forms.compact[i]!, first: i === 0 };
        }
        return result;
      },
    });
    this.current = graph;
    return graph;
  }
}

function piece<T extends object>(entry: Entry<T>): Piece {
  entry.piece ??= pieceOf(entry.value);
  return entry.piece;
}

/** The fixed parts of read_graph's result around the pieces, as JSON.stringify lays them out. */
const bytes = {
  resultOpen: Buffer.from('{"content":[{"type":"text","text":"{\\n  \\"entities\\": '),
  escapedBetween: Buffer.from(',\\n  \\"relations\\": '),
  escapedEnd: Buffer.from('\\n}"}],"structuredContent":{"entities":'),
  compactBetween: Buffer.from(',"relations":'),
  resultClose: Buffer.from("}}"),
  empty: Buffer.from("[]"),
  escapedOpen: Buffer.from("[\\n"),
  escapedNext: Buffer.from(",\\n"),
  escapedClose: Buffer.from("\\n  ]"),
  open: Buffer.from("["),
  next: Buffer.from(","),
  close: Buffer.from("]"),
};

/** Bytes put together from pieces and from spans of earlier buffers; adjacent spans of one buffer become one. */
class Runs {
  private readonly parts: Array<Buffer | { source: Buffer; start: number; end: number }> = [];
  length = 0;

  bytes(chunk: Buffer): void {
    this.parts.push(chunk);
    this.length += chunk.length;
  }

  range(source: Buffer, start: number, end: number): void {
    const last = this.parts.at(-1);
    if (last && !Buffer.isBuffer(last) && last.source === source && last.end === start) last.end = end;
    else this.parts.push({ source, start, end });
    this.length += end - start;
  }

  join(): Buffer {
    const chunks = this.parts.map((part) => (Buffer.isBuffer(part) ? part : part.source.subarray(part.start, part.end)));
    return Buffer.concat(chunks, this.length);
  }
}

function merged<T>(kept: Map<number, Entry<T>>, rows: Array<[number, T]>, same: (a: T, b: T) => boolean): Map<number, Entry<T>> {
  const next = new Map<number, Entry<T>>();
  for (const [id, value] of rows) {
    const old = kept.get(id);
    next.set(id, old && same(old.value, value) ? old : { value });
  }
  return next;
}
