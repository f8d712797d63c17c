// The data that defines a byte-level BPE tokenizer, shared by tokenizer.json, GGUF and the trainer.

/** llama.cpp token types, as stored in tokenizer.ggml.token_type. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface BpeVocab {
  /** Token strings in GPT-2's byte-to-unicode alphabet (special tokens as written, e.g. "<|endoftext|>"). */
  tokens: string[];
  /** Merge rules in priority order; each pair joins two token strings. */
  merges: [string, string][];
  /** One llama.cpp TokenType per token. */
  tokenTypes: number[];
  /** Pre-tokeniser name in llama.cpp's vocabulary ("gpt-2", "llama3", "qwen2", ...). */
  pre: string;
  bosId?: number;
  eosId?: number;
  padId?: number;
  unkId?: number;
  /** Whether encoding prepends BOS by default. */
  addBos: boolean;
}
