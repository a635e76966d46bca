import { formatKeyPath, type KeyPath } from "./key-path.ts";

const BARE_KEY = /[A-Za-z0-9_-]+/y;
const SCALAR_END = new Set([",", "]", "}", "\n", "\r", "#"]);

/**
 * The line of every key, table header and array element in a TOML document, by formatted key path
 * (`env.staging.kv_namespaces[1].binding` → 14). smol-toml keeps no positions, so this is a small
 * scanner of its own; it runs only on text smol-toml has already accepted, and gives up quietly
 * (returning what it found) on anything it does not follow.
 */
export function tomlKeyLines(text: string): Map<string, number> {
  return new TomlLineScanner(text).scan();
}

class TomlLineScanner {
  private index = 0;
  private line = 1;
  private readonly lines = new Map<string, number>();
  /** How many elements each array of tables (`[[x]]`) has so far, by formatted path. */
  private readonly arrayCounts = new Map<string, number>();

  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  scan(): Map<string, number> {
    let table: KeyPath = [];
    while (this.index < this.text.length) {
      const start = this.index;
      this.skipTrivia();
      if (this.index >= this.text.length) break;
      if (this.text.startsWith("[[", this.index)) {
        this.advance(2);
        table = this.header(this.readKey(), true);
        this.skipPast("]]");
      } else if (this.text[this.index] === "[") {
        this.advance(1);
        table = this.header(this.readKey(), false);
        this.skipPast("]");
      } else {
        const key = this.readKey();
        if (key.length > 0) {
          const path = [...table, ...key];
          this.record(path);
          this.skipSpaces();
          if (this.text[this.index] === "=") this.advance(1);
          this.readValue(path);
        }
      }
      if (this.index === start) this.advance(1);
    }
    return this.lines;
  }

  private record(path: KeyPath): void {
    const key = formatKeyPath(path);
    if (!this.lines.has(key)) this.lines.set(key, this.line);
  }

  /** A header's path; `[x.y]` under an array of tables `[[x]]` means its last element. */
  private header(segments: string[], isArrayOfTables: boolean): KeyPath {
    const path: (string | number)[] = [];
    segments.forEach((segment, position) => {
      path.push(segment);
      const key = formatKeyPath(path);
      if (isArrayOfTables && position === segments.length - 1) {
        const count = this.arrayCounts.get(key) ?? 0;
        this.arrayCounts.set(key, count + 1);
        this.record(path);
        path.push(count);
      } else {
        const count = this.arrayCounts.get(key);
        if (count !== undefined) path.push(count - 1);
      }
    });
    this.record(path);
    return path;
  }

  private readValue(path: KeyPath): void {
    this.skipSpaces();
    const char = this.text[this.index];
    if (char === '"' || char === "'") {
      this.readString();
    } else if (char === "[") {
      this.advance(1);
      this.readArray(path);
    } else if (char === "{") {
      this.advance(1);
      this.readInlineTable(path);
    } else {
      while (this.index < this.text.length && !SCALAR_END.has(this.text[this.index] ?? "")) this.advance(1);
    }
  }

  private readArray(path: KeyPath): void {
    let element = 0;
    while (this.index < this.text.length) {
      const start = this.index;
      this.skipTrivia();
      const char = this.text[this.index];
      if (char === "]") return this.advance(1);
      if (char === ",") this.advance(1);
      else if (char !== undefined) {
        const elementPath = [...path, element++];
        this.record(elementPath);
        this.readValue(elementPath);
      }
      if (this.index === start) this.advance(1);
    }
  }

  private readInlineTable(path: KeyPath): void {
    while (this.index < this.text.length) {
      const start = this.index;
      this.skipTrivia();
      const char = this.text[this.index];
      if (char === "}") return this.advance(1);
      if (char === ",") this.advance(1);
      else {
        const key = this.readKey();
        if (key.length > 0) {
          const keyPath = [...path, ...key];
          this.record(keyPath);
          this.skipSpaces();
          if (this.text[this.index] === "=") this.advance(1);
          this.readValue(keyPath);
        }
      }
      if (this.index === start) this.advance(1);
    }
  }

  /** A dotted key of bare and quoted parts. */
  private readKey(): string[] {
    const segments: string[] = [];
    for (;;) {
      this.skipSpaces();
      const char = this.text[this.index];
      if (char === '"' || char === "'") segments.push(this.readString());
      else {
        BARE_KEY.lastIndex = this.index;
        const match = BARE_KEY.exec(this.text);
        if (match === null) break;
        segments.push(match[0]);
        this.index += match[0].length;
      }
      this.skipSpaces();
      if (this.text[this.index] !== ".") break;
      this.advance(1);
    }
    return segments;
  }

  private readString(): string {
    const quote = this.text[this.index] ?? '"';
    const triple = quote.repeat(3);
    const multiline = this.text.startsWith(triple, this.index);
    const close = multiline ? triple : quote;
    this.advance(close.length);
    let value = "";
    while (this.index < this.text.length && !this.text.startsWith(close, this.index)) {
      if (!multiline && this.text[this.index] === "\n") return value;
      if (quote === '"' && this.text[this.index] === "\\") {
        value += this.text[this.index + 1] ?? "";
        this.advance(2);
        continue;
      }
      value += this.text[this.index];
      this.advance(1);
    }
    this.advance(close.length);
    // A multi-line string may end with up to two more quotes that belong to its value.
    while (multiline && this.text[this.index] === quote) this.advance(1);
    return value;
  }

  private skipPast(close: string): void {
    const end = this.text.indexOf(close, this.index);
    const lineEnd = this.text.indexOf("\n", this.index);
    if (end !== -1 && (lineEnd === -1 || end < lineEnd)) this.advance(end + close.length - this.index);
  }

  private skipSpaces(): void {
    while (this.text[this.index] === " " || this.text[this.index] === "\t") this.index++;
  }

  /** Spaces, line ends and comments. */
  private skipTrivia(): void {
    for (;;) {
      this.skipSpaces();
      const char = this.text[this.index];
      if (char === "#") {
        while (this.index < this.text.length && this.text[this.index] !== "\n") this.index++;
      } else if (char === "\n" || char === "\r") {
        this.advance(1);
      } else return;
    }
  }

  private advance(count: number): void {
    for (let step = 0; step < count && this.index < this.text.length; step++) {
      if (this.text[this.index] === "\n") this.line++;
      this.index++;
    }
  }
}
