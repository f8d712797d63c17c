import { keccak_256 } from "@noble/hashes/sha3.js";

/**
 * span-v1 word rarity costs: a fixed constant of the algorithm, standing in for -log2 of a word's
 * unigram probability in English text, rounded to whole bits. Words not listed cost DEFAULT_WORD_COST.
 * Lookup is by the first 4 bytes of keccak256(word bytes), big-endian (see README, "Rarity").
 */
export const DEFAULT_WORD_COST = 12;

export const COST_TIERS: ReadonlyArray<readonly [cost: number, words: string]> = [
  [4, "the of and to a in"],
  [
    5,
    "is that for it as was with be by on not he i this are or his from at which but have an had they you " +
      "were their one all we b c d e f g h j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9",
  ],
  [
    6,
    "her she there been has more if will would can when who so no its what out up about them into than " +
      "other some time only could new these two may then do first any my now such like our over me even " +
      "most made after also did many before must through back years where much your way well down should " +
      "because each just those people how too little state good very make world still own see men work long " +
      "get here between both life being under never day same another know while last might us great old " +
      "year off come since against go came right used take three",
  ],
  [
    8,
    "himself few house use during without again place around however home small found thought went say " +
      "part once general high upon school every does got left number course war until always away " +
      "something fact though water less public put think almost hand enough far took head yet government " +
      "system better set told nothing night end why called find going look asked later knew point next " +
      "city business give group toward young days let room side social given present several order " +
      "national possible rather second face per among form important often things looked early white case " +
      "become large big need four within felt along children saw best ever least power light thing seemed " +
      "family want mind country area others done turned although open service certain kind problem began " +
      "different door thus help sense means whole matter perhaps itself times law human line above name " +
      "example company hands show whether five history gave today either act feet across taken past quite " +
      "anything seen having death week body word half really field am words already themselves tell " +
      "together shall money period held keep sure free seems real behind cannot question air office making " +
      "brought whose special heard major ago became known result street change south close turn love true " +
      "full seem usually include includes including using",
  ],
];

function wordKey(word: Uint8Array): number {
  const h = keccak_256(word);
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

const utf8 = new TextEncoder();

function buildTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const [cost, words] of COST_TIERS) {
    for (const word of words.split(" ")) {
      const key = wordKey(utf8.encode(word));
      if (table.has(key)) throw new Error(`span-v1 cost table lists a word twice or collides: ${word}`);
      table.set(key, cost);
    }
  }
  return table;
}

const TABLE = buildTable();

/** Costs of words seen recently: a keccak per word would dominate a query's time. */
const remembered = new Map<string, number>();
const REMEMBERED_WORDS = 100_000;
const latin1 = new TextDecoder("latin1");

/** The rarity cost of one normalised word (lower-cased ASCII, NFC UTF-8 bytes). */
export function wordCost(word: Uint8Array): number {
  const key = latin1.decode(word);
  let cost = remembered.get(key);
  if (cost === undefined) {
    cost = TABLE.get(wordKey(word)) ?? DEFAULT_WORD_COST;
    if (remembered.size >= REMEMBERED_WORDS) remembered.clear();
    remembered.set(key, cost);
  }
  return cost;
}

/** The table as sorted (key, cost) pairs: what the Solidity library embeds. */
export function costTableEntries(): Array<[key: number, cost: number]> {
  return [...TABLE.entries()].sort((a, b) => a[0] - b[0]);
}
