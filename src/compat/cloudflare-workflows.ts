/**
 * What `import … from "cloudflare:workflows"` resolves to while Hearth runs a project.
 * @module
 */
export { NonRetryableError } from "../workflow/index.ts";
