/**
 * What `import { EmailMessage } from "cloudflare:email"` resolves to while Hearth runs a project.
 * @module
 */
export { EmailMessage } from "../email/email-message.ts";
