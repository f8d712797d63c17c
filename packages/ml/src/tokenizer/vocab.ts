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

/** A SentencePiece-style vocabulary (GGUF tokenizer.ggml.model "llama": Llama 2, TinyLlama, Mistral v0.1). */
export interface SpmVocab {
  /** Pieces with "▁" for spaces; byte-fallback pieces are "<0x0A>" etc. with type BYTE. */
  tokens: string[];
  /** Merge priority: the adjacent pair whose joined piece scores highest merges first. */
  scores: number[];
  tokenTypes: number[];
  bosId?: number;
  eosId?: number;
  padId?: number;
  unkId?: number;
  addBos: boolean;
  /** Prepend a space to text that starts the input or follows a special token (default true). */
  addSpacePrefix: boolean;
}

/** What both tokenizer kinds offer. */
export interface Tokenizer {
  readonly size: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  encode(text: string, options?: { addBos?: boolean; allowSpecial?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
  decodeBytes(ids: readonly number[], options?: { skipSpecial?: boolean }): Uint8Array;
  tokenToId(token: string): number | undefined;
  isSpecial(id: number): boolean;
}
