import { type Command, InvalidArgumentError } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";

export interface ApiOptions {
  api: string;
  json: boolean;
}

interface JobView {
  id: string;
  status: string;
  model: string;
  fine_tuned_model: string | null;
  training_file: string;
  created_at: number;
  finished_at: number | null;
  error: { code: string; message: string } | null;
  hyperparameters: Record<string, unknown>;
  openledger: {
    step: number;
    total_steps: number;
    attempt: number;
    worker: string | null;
    result: null | {
      adapterHash: string;
      modelId?: string;
      version?: number;
      heldOutLossBefore: number;
      heldOutLossAfter: number;
      artefacts: Record<string, string>;
    };
  };
}

interface EventView {
  id: string;
  created_at: number;
  level: string;
  type: string;
  message: string;
  data: Record<string, number>;
}

export function parseApiUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value.replace(/\/$/, "");
  } catch {}
  throw new InvalidArgumentError("expected an http(s):// URL");
}

/** Calls the factory's HTTP API; an error body becomes one `error:` line. */
export async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the API at ${base}: ${(err as Error).message} (is \`openledger up\` running?)`,
    );
  }
  const json = (await res.json().catch(() => null)) as { error?: { message: string; code: string } } | null;
  if (!res.ok) {
    throw new CliError(
      json?.error ? `${json.error.message} (${json.error.code})` : `HTTP ${res.status} from ${path}`,
    );
  }
  return json as T;
}

/** Server-sent events of a job until it finishes; resolves to the final status. */
export async function followJob(base: string, id: string, onEvent: (e: EventView) => void): Promise<string> {
  const res = await fetch(`${base}/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?stream=true`);
  if (!res.ok || !res.body) {
    const json = (await res.json().catch(() => null)) as { error?: { message: string } } | null;
    throw new CliError(json?.error?.message ?? `cannot follow job ${id}: HTTP ${res.status}`);
  }
  const decoder = new TextDecoder();
  let buffered = "";
  let status = "unknown";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffered.indexOf("\n\n")) >= 0) {
      const frame = buffered.slice(0, at);
      buffered = buffered.slice(at + 2);
      if (!frame.startsWith("data: ")) continue;
      const data = frame.slice(6);
      if (data === "[DONE]") return status;
      const parsed = JSON.parse(data) as EventView & { object: string; status?: string };
      if (parsed.object === "fine_tuning.job") status = parsed.status ?? status;
      else onEvent(parsed);
    }
  }
  return status;
}

/** A progress bar on stderr driven by the job's metrics events; eval results and messages as lines. */
export function progressPrinter(print: (line: string) => void) {
  const tty = process.stderr.isTTY;
  let drawn = false;
  return (e: EventView) => {
    const d = e.data ?? {};
    if (e.type === "metrics" && typeof d.train_loss === "number") {
      const width = 28;
      const ratio = d.total_steps ? d.step / d.total_steps : 0;
      const bar = `${"#".repeat(Math.round(ratio * width))}${"-".repeat(width - Math.round(ratio * width))}`;
      const line = `[${bar}] ${d.step}/${d.total_steps} loss ${d.train_loss.toFixed(4)} lr ${d.learning_rate.toExponential(2)} ${Math.round(d.tokens_per_second)} tok/s eta ${Math.ceil(d.eta_seconds)}s`;
      if (tty) {
        process.stderr.write(`\r${line}`);
        drawn = true;
      } else if (d.step === d.total_steps || d.step % 10 === 0) process.stderr.write(`${line}\n`);
      return;
    }
    if (drawn) {
      process.stderr.write("\n");
      drawn = false;
    }
    print(e.message);
  };
}

export function describeJob(j: JobView): string[] {
  const r = j.openledger.result;
  const lines = [
    `${j.id}  ${j.status}  ${j.model} -> ${j.fine_tuned_model ?? "(pending)"}`,
    `  snapshots   ${j.training_file}`,
    `  progress    step ${j.openledger.step}/${j.openledger.total_steps}, attempt ${j.openledger.attempt}${j.openledger.worker ? `, worker ${j.openledger.worker}` : ""}`,
    `  params      ${Object.entries(j.hyperparameters)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`)
      .join(" ")}`,
  ];
  if (r) {
    lines.push(`  held-out    loss ${r.heldOutLossBefore.toFixed(4)} -> ${r.heldOutLossAfter.toFixed(4)}`);
    lines.push(`  adapter     ${r.adapterHash}  ipfs://${r.artefacts.gguf}`);
    lines.push(`  manifest    ipfs://${r.artefacts.manifest}   report ipfs://${r.artefacts.reportHtml}`);
    if (r.modelId) lines.push(`  published   model ${r.modelId} version ${r.version}`);
  }
  if (j.error) lines.push(`  error       ${j.error.message} (${j.error.code})`);
  return lines;
}

function limit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 100) throw new InvalidArgumentError("expected 1..100");
  return n;
}

export function registerJobsCommand(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("fine-tuning jobs on the factory API: list, show, events, cancel")
    .option("--api <url>", "the HTTP API of `openledger up`", parseApiUrl, "http://127.0.0.1:8080")
    .option("--json", "print the API's JSON", false);

  jobs
    .command("list")
    .description("the newest jobs first")
    .option("--limit <n>", "how many", limit, 20)
    .action(async (_o, command: Command) => {
      const { options, print } = commandContext<ApiOptions & { limit: number }>(command);
      const page = await api<{ data: JobView[] }>(
        options.api,
        "GET",
        `/v1/fine_tuning/jobs?limit=${options.limit}`,
      );
      if (options.json) return print(JSON.stringify(page, null, 2));
      if (page.data.length === 0)
        print(
          "no jobs yet: start one with `openledger train --base demo-base --snapshot wordnet-noun.animal@1`",
        );
      for (const j of page.data) {
        print(
          `${j.id}  ${j.status.padEnd(9)}  ${String(j.openledger.step).padStart(5)}/${String(j.openledger.total_steps).padEnd(5)}  ${j.fine_tuned_model ?? j.training_file}`,
        );
      }
    });

  jobs
    .command("show <id>")
    .description("one job: status, progress, parameters, results")
    .action(async (id: string, _o, command: Command) => {
      const { options, print } = commandContext<ApiOptions>(command);
      const job = await api<JobView>(options.api, "GET", `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
      if (options.json) return print(JSON.stringify(job, null, 2));
      for (const line of describeJob(job)) print(line);
    });

  jobs
    .command("events <id>")
    .description("a job's events, oldest first; --follow streams them until the job ends")
    .option("--follow", "stream new events (server-sent events) until the job finishes", false)
    .action(async (id: string, _o, command: Command) => {
      const { options, print } = commandContext<ApiOptions & { follow: boolean }>(command);
      if (options.follow) {
        const status = await followJob(options.api, id, progressPrinter(print));
        print(`job ${id} ${status}`);
        return;
      }
      const page = await api<{ data: EventView[] }>(
        options.api,
        "GET",
        `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=10000`,
      );
      if (options.json) return print(JSON.stringify(page, null, 2));
      for (const e of page.data.reverse())
        print(`${new Date(e.created_at * 1000).toISOString()}  ${e.level.padEnd(5)}  ${e.message}`);
    });

  jobs
    .command("cancel <id>")
    .description("cancel a queued or running job")
    .action(async (id: string, _o, command: Command) => {
      const { options, print } = commandContext<ApiOptions>(command);
      const job = await api<JobView>(
        options.api,
        "POST",
        `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`,
      );
      print(`${job.id} ${job.status}`);
    });
}
