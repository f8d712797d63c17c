import { type Command, InvalidArgumentError } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { type ApiOptions, api, describeJob, followJob, parseApiUrl, progressPrinter } from "./jobs.ts";

interface TrainOptions extends ApiOptions {
  base: string;
  snapshot: string[];
  rank?: number;
  alpha?: number;
  targets?: string;
  epochs?: number;
  lr?: number;
  batch?: number;
  maxSeqLen?: number;
  seed?: number;
  evalFraction?: number;
  suffix?: string;
  name?: string;
  owner?: string;
  price?: string;
  publish: boolean;
  follow: boolean;
}

const integer = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return Number(value);
};
const number = (value: string) => {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a number");
  return n;
};

export function registerTrainCommand(program: Command): void {
  program
    .command("train")
    .description("fine-tune a LoRA adapter on licensed Datanet snapshots (a job on the factory API)")
    .requiredOption("--base <model>", "registered base model (name or id), e.g. demo-base")
    .requiredOption(
      "--snapshot <name>",
      "Datanet snapshot, e.g. wordnet-noun.animal@1 (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option("--rank <n>", "LoRA rank (1..256)", integer)
    .option("--alpha <n>", "LoRA alpha (default 2 x rank)", number)
    .option("--targets <list>", "LoRA target modules, comma-separated (default q_proj,k_proj,v_proj,o_proj)")
    .option("--epochs <n>", "passes over the data (1..100)", integer)
    .option("--lr <x>", "learning rate", number)
    .option("--batch <n>", "examples per step", integer)
    .option("--max-seq-len <n>", "tokens per example", integer)
    .option("--seed <n>", "seed of the adapter init, data order and held-out split", integer)
    .option("--eval-fraction <x>", "share of the records held out (0..0.5)", number)
    .option("--suffix <text>", "the model is named ft:<base>:<suffix>")
    .option("--name <name>", "publish under exactly this name")
    .option("--owner <address>", "owner (must hold the licences; the server must hold its key)")
    .option("--price <wei>", "inference price per 1k tokens in OPEN wei", "0")
    .option("--no-publish", "train only; publish later with `openledger models publish JOB`")
    .option("--follow", "show progress until the job finishes", false)
    .option("--api <url>", "the HTTP API of `openledger up`", parseApiUrl, "http://127.0.0.1:8080")
    .option("--json", "print the job as JSON", false)
    .action(async (_o, command: Command) => {
      const { options: o, print } = commandContext<TrainOptions>(command);
      if (!/^\d+$/.test(o.price ?? "0")) throw new CliError("--price must be a whole number of OPEN wei");
      const hyperparameters: Record<string, unknown> = {};
      const set = (k: string, v: unknown) => {
        if (v !== undefined) hyperparameters[k] = v;
      };
      set("lora_rank", o.rank);
      set("lora_alpha", o.alpha);
      set(
        "lora_targets",
        o.targets?.split(",").map((t) => t.trim()),
      );
      set("n_epochs", o.epochs);
      set("learning_rate", o.lr);
      set("batch_size", o.batch);
      set("max_seq_len", o.maxSeqLen);
      set("eval_fraction", o.evalFraction);
      const [first, ...more] = o.snapshot;
      const body = {
        model: o.base,
        training_file: first,
        ...(o.suffix ? { suffix: o.suffix } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        hyperparameters,
        openledger: {
          ...(more.length ? { snapshots: more } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.owner ? { owner: o.owner } : {}),
          publish: o.publish,
          price_per_1k_tokens: o.price ?? "0",
        },
      };
      const job = await api<{ id: string; fine_tuned_model: string | null }>(
        o.api,
        "POST",
        "/v1/fine_tuning/jobs",
        body,
      );
      if (o.json && !o.follow) return print(JSON.stringify(job, null, 2));
      print(`job ${job.id} queued`);
      if (!o.follow) {
        print(`follow it with: openledger jobs events ${job.id} --follow`);
        return;
      }
      const status = await followJob(o.api, job.id, progressPrinter(print));
      const done = await api<Parameters<typeof describeJob>[0]>(
        o.api,
        "GET",
        `/v1/fine_tuning/jobs/${job.id}`,
      );
      for (const line of describeJob(done)) print(line);
      if (status !== "succeeded") {
        throw new CliError(`job ${job.id} ${status}${done.error ? `: ${done.error.message}` : ""}`);
      }
    });
}
