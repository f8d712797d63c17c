import { InvalidRequestError } from "./errors.ts";

export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * The default chat template: one `role: content` line per message, then `assistant:` for the reply;
 * generation also stops at the next `\nuser:`. A model's own template (metadata `chatTemplate`) uses the
 * same small syntax: `{{#messages}}...{{/messages}}` repeats its body per message with `{{role}}` and
 * `{{content}}` filled in; text outside the loop is copied. Jinja templates (`{%`) are not run: such
 * models use the default.
 */
export const DEFAULT_CHAT_TEMPLATE = "{{#messages}}{{role}}: {{content}}\n{{/messages}}assistant:";

/** Extra stop strings the default template implies. */
export const DEFAULT_CHAT_STOPS = ["\nuser:"];

export function renderChat(messages: ChatMessage[], template = DEFAULT_CHAT_TEMPLATE): string {
  const t = template.includes("{%") ? DEFAULT_CHAT_TEMPLATE : template;
  const m = /\{\{#messages\}\}([\s\S]*?)\{\{\/messages\}\}/.exec(t);
  if (!m) throw new InvalidRequestError("the model's chat template has no {{#messages}} loop", "model");
  // one pass with replacer functions: a message's text is inserted as is, never read as a `$&`
  // replacement pattern or as a placeholder itself
  const body = messages
    .map((msg) => m[1].replace(/\{\{(role|content)\}\}/g, (_, field: "role" | "content") => msg[field]))
    .join("");
  return t.slice(0, m.index) + body + t.slice(m.index + m[0].length);
}
