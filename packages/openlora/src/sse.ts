/** Calls `onData` with the parsed JSON of each `data:` line of a server-sent-events body, until `[DONE]`. */
export async function readSse(
  body: AsyncIterable<Uint8Array>,
  onData: (data: Record<string, unknown>) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const part of body) {
    buf += decoder.decode(part, { stream: true });
    for (let nl = buf.indexOf("\n\n"); nl >= 0; nl = buf.indexOf("\n\n")) {
      const event = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        onData(JSON.parse(data) as Record<string, unknown>);
      }
    }
  }
}

export interface ApiError {
  message: string;
  type?: string;
  code?: string;
}

/** An OpenAI-compatible server refused a request: its status, error code and message. */
export class OpenAiRequestError extends Error {
  override name = "OpenAiRequestError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** POSTs an OpenAI request with `stream: true`; calls onText per chunk; a refusal throws OpenAiRequestError. */
export async function streamOpenAi(
  url: string,
  body: Record<string, unknown>,
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<{ finishReason: string | null; usage: Record<string, number> | null }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) {
    const j = (await res.json().catch(() => null)) as { error?: ApiError } | null;
    throw new OpenAiRequestError(
      j?.error?.message ?? `${url} answered ${res.status}`,
      res.status,
      j?.error?.code ?? null,
    );
  }
  let finishReason: string | null = null;
  let usage: Record<string, number> | null = null;
  await readSse(res.body as unknown as AsyncIterable<Uint8Array>, (d) => {
    if (d.error) throw new Error(String((d.error as ApiError).message));
    if (d.usage) usage = d.usage as Record<string, number>;
    const c = (d.choices as Record<string, unknown>[] | undefined)?.[0];
    if (!c) return;
    const text =
      (c.delta as { content?: string } | undefined)?.content ?? (c.text as string | undefined) ?? "";
    if (text) onText(text);
    if (c.finish_reason) finishReason = String(c.finish_reason);
  });
  return { finishReason, usage };
}
