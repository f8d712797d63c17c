import type { Command } from "commander";
import { registerAccountsCommand } from "./accounts.ts";
import { registerAttributeCommand } from "./attribute.ts";
import { registerBalanceCommand } from "./balance.ts";
import { registerChallengeCommand } from "./challenge.ts";
import { registerChatCommand } from "./chat.ts";
import { registerCompleteCommand } from "./complete.ts";
import { registerDatanetCommand } from "./datanet.ts";
import { registerDeployCommand } from "./deploy.ts";
import { registerEscrowCommand } from "./escrow.ts";
import { registerJobsCommand } from "./jobs.ts";
import { registerKeysCommand } from "./keys.ts";
import { registerModelsCommand } from "./models.ts";
import { registerNodeCommand } from "./node.ts";
import { registerReceiptsCommand } from "./receipts.ts";
import { registerRewardsCommand } from "./rewards.ts";
import { registerStartCommand } from "./start.ts";
import { registerTrainCommand } from "./train.ts";
import { registerUpCommand } from "./up.ts";
import { registerWorkerCommand } from "./worker.ts";
import { registerWrapCommands } from "./wrap.ts";

/** Adds every subcommand. Each part adds its command in its own file and one line here. */
export function registerCommands(program: Command): void {
  registerAccountsCommand(program);
  registerAttributeCommand(program);
  registerBalanceCommand(program);
  registerChallengeCommand(program);
  registerChatCommand(program);
  registerCompleteCommand(program);
  registerDatanetCommand(program);
  registerDeployCommand(program);
  registerEscrowCommand(program);
  registerJobsCommand(program);
  registerKeysCommand(program);
  registerModelsCommand(program);
  registerNodeCommand(program);
  registerReceiptsCommand(program);
  registerRewardsCommand(program);
  registerStartCommand(program);
  registerTrainCommand(program);
  registerUpCommand(program);
  registerWorkerCommand(program);
  registerWrapCommands(program);
}
