// The error body every HTTP layer answers with, in the shape OpenAI's API uses, so the `openai`
// client and plain fetch users read the same fields everywhere.

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** `{ error: { message, type, param, code } }`; `param` names the offending field, or is null. */
export function openAIError(
  message: string,
  type: string,
  code: string,
  param: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** The body of a 500: says only that it was logged (the server must log the cause). */
export function internalErrorBody(): OpenAIErrorBody {
  return openAIError("internal error; see the server log", "server_error", "internal_error");
}
