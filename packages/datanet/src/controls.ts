// C0 and C1 control characters (terminal escapes among them) in names and descriptions that CLIs and
// web pages print. Checked by code point rather than a regular expression of control characters.

function isControl(code: number, keepTabNewline: boolean): boolean {
  if (keepTabNewline && (code === 0x09 || code === 0x0a)) return false;
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/** Index of the first control character (tab and newline allowed when `keepTabNewline`), or -1. */
export function firstControl(text: string, keepTabNewline = false): number {
  for (let i = 0; i < text.length; i++) if (isControl(text.charCodeAt(i), keepTabNewline)) return i;
  return -1;
}

/** `text` with each control character replaced by U+FFFD. */
export function defuseControls(text: string, keepTabNewline = false): string {
  let out = "";
  for (const ch of text) out += isControl(ch.charCodeAt(0), keepTabNewline) ? "\uFFFD" : ch;
  return out;
}
