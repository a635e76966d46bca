/** A filter form whose values live in the URL query, so a filtered list is a deep link. */
import { useState } from "preact/hooks";
import { href, navigate } from "../router.ts";

export interface FilterField {
  name: string;
  label: string;
  /** A checkbox sends "true" when checked. */
  type?: "text" | "number" | "checkbox" | "select";
  options?: readonly string[];
  placeholder?: string;
}

export function FilterForm({
  section,
  fields,
  query,
}: {
  section: string;
  fields: readonly FilterField[];
  query: URLSearchParams;
}) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, query.get(f.name) ?? ""])),
  );
  const set = (name: string, value: string) => setValues({ ...values, [name]: value });
  function submit(event: Event) {
    event.preventDefault();
    navigate(href([section], values), true);
  }
  return (
    <form class="filters" role="search" aria-label={`Filter ${section}`} onSubmit={submit}>
      {fields.map((f) => {
        const id = `filter-${section}-${f.name}`;
        if (f.type === "checkbox")
          return (
            <label key={f.name} class="inline" for={id}>
              <input
                id={id}
                type="checkbox"
                checked={values[f.name] === "true"}
                onChange={(e) => set(f.name, e.currentTarget.checked ? "true" : "")}
              />{" "}
              {f.label}
            </label>
          );
        if (f.type === "select")
          return (
            <span key={f.name} class="field">
              <label for={id}>{f.label}</label>
              <select id={id} value={values[f.name]} onChange={(e) => set(f.name, e.currentTarget.value)}>
                <option value="">any</option>
                {(f.options ?? []).map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </span>
          );
        return (
          <span key={f.name} class="field">
            <label for={id}>{f.label}</label>
            {f.type === "number" ? (
              <input
                id={id}
                type="number"
                value={values[f.name]}
                placeholder={f.placeholder}
                onInput={(e) => set(f.name, e.currentTarget.value)}
              />
            ) : (
              <input
                id={id}
                type="text"
                value={values[f.name]}
                placeholder={f.placeholder}
                onInput={(e) => set(f.name, e.currentTarget.value)}
              />
            )}
          </span>
        );
      })}
      <button type="submit">Apply filters</button>
    </form>
  );
}

/** The query's values for `fields`, for an API call. */
export function filterValues(fields: readonly FilterField[], query: URLSearchParams): Record<string, string | undefined> {
  return Object.fromEntries(fields.map((f) => [f.name, query.get(f.name) ?? undefined]));
}
