import { RpcCode, RpcError } from "../errors.ts";
import { CallTracer, StructLogTracer, type Tracer } from "../execution.ts";
import type { Handler, RpcMethods } from "./methods.ts";
import type { Params } from "./params.ts";

/** debug_: transaction and call tracing (callTracer and the struct logger). */
export function debugMethods(m: RpcMethods): Record<string, Handler> {
  const exec = m.exec;
  return {
    debug_traceTransaction: (p) => {
      p.count(1, 2);
      return exec.traceTransaction(p.hash(0), tracer(p, 1));
    },
    debug_traceCall: (p) => {
      p.count(1, 3);
      return exec.traceCall(p.call(0), m.block(p, 1), tracer(p, 2));
    },
  };
}

function tracer(p: Params, i: number): Tracer {
  const cfg = p.has(i) ? p.object(i) : {};
  const name = cfg.tracer;
  if (name === undefined) return new StructLogTracer(cfg as { disableStack?: boolean });
  if (name === "callTracer") {
    return new CallTracer((cfg.tracerConfig ?? {}) as { onlyTopCall?: boolean; withLog?: boolean });
  }
  throw new RpcError(
    RpcCode.Server,
    `tracer not found: ${String(name)} (supported: callTracer and the default struct logger)`,
  );
}
