#!/usr/bin/env node
// Entry shim: the CLI is written in TypeScript and run through tsx's loader, so no build step
// stands between a source change and `npx openledger`.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
