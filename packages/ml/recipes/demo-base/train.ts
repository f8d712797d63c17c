// Usage: node --import tsx packages/ml/recipes/demo-base/train.ts [--config file] [--out dir] [--steps n]
//        [--limit entries] [--resume]
import { parseArgs } from "node:util";
import { loadRecipeConfig, runDemoRecipe } from "./recipe.ts";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    out: { type: "string", default: "packages/ml/recipes/demo-base/out" },
    steps: { type: "string" },
    limit: { type: "string" },
    resume: { type: "boolean", default: false },
  },
});
const config = loadRecipeConfig(values.config);
if (values.steps) config.train.steps = Number(values.steps);
if (values.limit) config.corpus.limit = Number(values.limit);
const report = await runDemoRecipe(config, values.out!, { resume: values.resume });
console.log(JSON.stringify(report, null, 2));
