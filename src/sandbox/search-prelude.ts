/**
 * The prelude's guards of the native string searches (indexOf, lastIndexOf, includes, split,
 * replace, replaceAll with a string pattern), put inside its memory block (prelude.ts): they use
 * what that block took at start (apply, defineProperty, kit) and its bridge (sync).
 */
export const SEARCH_GUARDS = String.raw`  // ---- string searches: a native search runs no bytecode, so the interrupt never stops it, and a
  // long needle makes it quadratic (a 1 MB needle in a 4 MB string: hours). A search whose worst
  // case is larger than a step (about a millisecond of comparisons) is made a step at a time, on
  // slices, with the call's CPU and wall clock checked between steps: it stops at cpuMs like any
  // loop. Results and errors are the builtins' own. ----
  {
    const STEP = 1048576;
    const S = String.prototype, indexOf = S.indexOf, lastIndexOf = S.lastIndexOf, includes = S.includes, startsWith = S.startsWith, slice = S.slice, split = S.split, replace = S.replace, replaceAll = S.replaceAll;
    const toString = String, floor = Math.floor, max = Math.max, min = Math.min, trunc = Math.trunc;
    const symMatch = Symbol.match, symSplit = Symbol.split, symReplace = Symbol.replace;
    const sourceOf = kit.describe(RegExp.prototype, "source").get;
    let spent = 0;
    // Worst-case comparisons about to be made: past a step's worth, the clock is checked first.
    const charge = (cost) => { spent += cost; if (spent >= STEP) { spent = 0; sync("time", ""); } };
    // ToString: a symbol throws the builtins' own TypeError.
    const str = (value) => typeof value === "string" ? value : typeof value === "symbol" ? apply(indexOf, value, []) : toString(value);
    const cut = (s, from, to) => apply(slice, s, to === undefined ? [from] : [from, to]);
    const isObject = (value) => value !== null && (typeof value === "object" || typeof value === "function");
    const isRegExp = (value) => {
      if (!isObject(value)) return false;
      const matcher = value[symMatch];
      if (matcher !== undefined) return !!matcher;
      try { apply(sourceOf, value, []); return true; } catch { return false; }
    };
    // A long needle is looked for by its first PREFIX characters (a search linear in the string),
    // and checked whole where they are: a near miss costs its length once, charged as the rest.
    const PREFIX = 32;
    // The first index at or after from (0..length) where needle is found, or -1.
    const find = (s, needle, from) => {
      const h = s.length, m = needle.length;
      if (m === 0 || (h - from - m + 1) * m <= STEP) { charge(max(0, h - from - m + 1) * m); return apply(indexOf, s, [needle, from]); }
      const p = min(m, PREFIX), head = p < m ? cut(needle, 0, p) : needle, step = floor(STEP / p), last = h - m;
      for (let at = from; at <= last; at += step) {
        // The window holds every match of head starting at..end.
        const end = min(last, at + step - 1), window = cut(s, at, end + p);
        charge(step * p + end + p - at);
        for (let i = apply(indexOf, window, [head]); i >= 0; i = apply(indexOf, window, [head, i + 1])) {
          if (p === m) return at + i;
          charge(m);
          if (apply(startsWith, s, [needle, at + i])) return at + i;
        }
      }
      return -1;
    };
    // The last index at or before from (0..length) where needle is found, or -1.
    const findLast = (s, needle, from) => {
      const m = needle.length, top = min(from, s.length - m);
      if (top < 0) return -1;
      if (m === 0 || (top + 1) * m <= STEP) { charge((top + 1) * m); return apply(lastIndexOf, s, [needle, top]); }
      const p = min(m, PREFIX), head = p < m ? cut(needle, 0, p) : needle, step = floor(STEP / p);
      for (let hi = top; hi >= 0; hi -= step) {
        const lo = max(0, hi - step + 1), window = cut(s, lo, hi + p);
        charge(step * p + hi + p - lo);
        for (let i = apply(lastIndexOf, window, [head]); i >= 0; i = i === 0 ? -1 : apply(lastIndexOf, window, [head, i - 1])) {
          if (p === m) return lo + i;
          charge(m);
          if (apply(startsWith, s, [needle, lo + i])) return lo + i;
        }
      }
      return -1;
    };
    const position = (value, len, fallback) => { const n = +value; return n !== n ? fallback : min(max(trunc(n), 0), len); };
    // A replacement string's $$, $&, $\x60 and $' (a string pattern has no groups: $1, $<x> stay as they are).
    const substitute = (rep, matched, s, at) => {
      charge(rep.length);
      if (apply(indexOf, rep, ["$"]) < 0) return rep;
      let out = "";
      for (let i = 0; i < rep.length; i++) {
        const c = rep[i], d = rep[i + 1];
        if (c === "$" && (d === "$" || d === "&" || d === "\x60" || d === "'")) {
          out += d === "$" ? "$" : d === "&" ? matched : d === "'" ? cut(s, at + matched.length) : cut(s, 0, at);
          i++;
        } else out += c;
      }
      return out;
    };
    const replacement = (functional, rep, needle, at, s) => functional ? str(rep(needle, at, s)) : substitute(rep, needle, s, at);
    const methods = {
      indexOf(searchString, from = undefined) {
        if (this === null || this === undefined) return apply(indexOf, this, [searchString, from]);
        const s = str(this);
        return find(s, str(searchString), position(from, s.length, 0));
      },
      lastIndexOf(searchString, from = undefined) {
        if (this === null || this === undefined) return apply(lastIndexOf, this, [searchString, from]);
        const s = str(this), needle = str(searchString);
        return findLast(s, needle, position(from, s.length, s.length));
      },
      includes(searchString, from = undefined) {
        if (this === null || this === undefined || isRegExp(searchString)) return apply(includes, this, [searchString, from]);
        const s = str(this);
        return find(s, str(searchString), position(from, s.length, 0)) >= 0;
      },
      split(separator, limit) {
        if (this === null || this === undefined || (separator !== undefined && separator !== null && separator[symSplit] != null)) return apply(split, this, [separator, limit]);
        const s = str(this), lim = limit === undefined ? 4294967295 : limit >>> 0, sep = str(separator), m = sep.length;
        if (lim === 0 || separator === undefined || m === 0 || s.length * m <= STEP) { charge(s.length * m); return apply(split, s, [separator === undefined ? undefined : sep, lim]); }
        const out = [];
        let n = 0, from = 0;
        for (let at = find(s, sep, 0); at >= 0; at = find(s, sep, from)) {
          out[n++] = cut(s, from, at);
          if (n === lim) return out;
          from = at + m;
        }
        out[n] = cut(s, from);
        return out;
      },
      replace(searchValue, replaceValue) {
        if (this === null || this === undefined || (searchValue !== undefined && searchValue !== null && searchValue[symReplace] != null)) return apply(replace, this, [searchValue, replaceValue]);
        const s = str(this), needle = str(searchValue), functional = typeof replaceValue === "function", rep = functional ? replaceValue : str(replaceValue), m = needle.length;
        if ((s.length - m + 1) * m <= STEP) { charge(max(0, s.length - m + 1) * m); return apply(replace, s, [needle, rep]); }
        const at = find(s, needle, 0);
        return at < 0 ? s : cut(s, 0, at) + replacement(functional, rep, needle, at, s) + cut(s, at + m);
      },
      replaceAll(searchValue, replaceValue) {
        if (this === null || this === undefined || isRegExp(searchValue) || (searchValue !== undefined && searchValue !== null && searchValue[symReplace] != null)) return apply(replaceAll, this, [searchValue, replaceValue]);
        const s = str(this), needle = str(searchValue), functional = typeof replaceValue === "function", rep = functional ? replaceValue : str(replaceValue), m = needle.length;
        if (m === 0 || (s.length - m + 1) * m <= STEP) { charge(max(0, s.length - m + 1) * m); return apply(replaceAll, s, [needle, rep]); }
        // Every match is found first, then replaced (a replacer function sees them in order).
        const found = [];
        let n = 0;
        for (let at = find(s, needle, 0); at >= 0; at = find(s, needle, at + m)) found[n++] = at;
        let out = "", from = 0;
        for (let k = 0; k < n; k++) {
          out += cut(s, from, found[k]) + replacement(functional, rep, needle, found[k], s);
          from = found[k] + m;
        }
        return n === 0 ? s : out + cut(s, from);
      },
    };
    for (const name of ["indexOf", "lastIndexOf", "includes", "split", "replace", "replaceAll"]) {
      defineProperty(S, name, { __proto__: null, value: methods[name], writable: true, configurable: true, enumerable: false });
    }
  }
`;
