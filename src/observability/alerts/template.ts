/** Values a summary or description may show. */
export interface TemplateValues {
  readonly value: number | null;
  readonly threshold: number;
  readonly name: string;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly fingerprint?: string;
  readonly message?: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;
const SIMPLE = new Set(["value", "threshold", "name", "severity", "fingerprint", "message"]);

/** The placeholders a template may use, for error messages. */
export const TEMPLATE_PLACEHOLDERS = "{{value}}, {{threshold}}, {{name}}, {{severity}}, {{labels.<name>}}, {{fingerprint}}, {{message}}";

/** The first placeholder `template` uses that is not known, or undefined. */
export function unknownPlaceholder(template: string): string | undefined {
  for (const [whole, inner] of template.matchAll(/\{\{(.*?)\}\}/g)) {
    const key = inner!.trim();
    if (!SIMPLE.has(key) && !/^labels\.[A-Za-z_]\w*$/.test(key)) return whole;
  }
  return undefined;
}

/** A number as people read it: at most 4 significant digits, no exponent for everyday sizes. */
export function formatNumber(value: number | null): string {
  if (value === null) return "no data";
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/**
 * Fills `{{value}}`, `{{labels.x}}` and the other placeholders; a label the alert lacks reads as empty.
 * @example
 * renderTemplate("{{labels.class}} error rate {{value}}", { value: 0.123456, labels: { class: "Chat" }, ... }); // "Chat error rate 0.1235"
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(PLACEHOLDER, (whole, key: string) => {
    if (key.startsWith("labels.")) return values.labels[key.slice("labels.".length)] ?? "";
    switch (key) {
      case "value":
        return formatNumber(values.value);
      case "threshold":
        return formatNumber(values.threshold);
      case "name":
        return values.name;
      case "severity":
        return values.severity;
      case "fingerprint":
        return values.fingerprint ?? "";
      case "message":
        return values.message ?? "";
      default:
        return whole;
    }
  });
}
