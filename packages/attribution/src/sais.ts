/**
 * Suffix array by induced sorting (SA-IS, Nong, Zhang & Chan 2009), linear time, on typed arrays.
 * `s` holds integers in [0, alphabetSize) and must end with a unique smallest symbol 0.
 */
export function suffixArray(s: Int32Array, alphabetSize: number): Int32Array {
  const n = s.length;
  const sa = new Int32Array(n);
  if (n === 1) return sa;
  const sType = new Uint8Array(n);
  sType[n - 1] = 1;
  for (let i = n - 2; i >= 0; i--) {
    sType[i] = s[i] < s[i + 1] || (s[i] === s[i + 1] && sType[i + 1] === 1) ? 1 : 0;
  }
  const isLms = (i: number) => i > 0 && sType[i] === 1 && sType[i - 1] === 0;
  const counts = new Int32Array(alphabetSize);
  for (let i = 0; i < n; i++) counts[s[i]]++;
  const bucket = new Int32Array(alphabetSize);
  const bucketEnds = () => {
    let sum = 0;
    for (let c = 0; c < alphabetSize; c++) bucket[c] = sum += counts[c];
  };
  const bucketStarts = () => {
    let sum = 0;
    for (let c = 0; c < alphabetSize; c++) {
      bucket[c] = sum;
      sum += counts[c];
    }
  };
  const induce = () => {
    bucketStarts();
    for (let i = 0; i < n; i++) {
      const j = sa[i] - 1;
      if (j >= 0 && sType[j] === 0) sa[bucket[s[j]]++] = j;
    }
    bucketEnds();
    for (let i = n - 1; i >= 0; i--) {
      const j = sa[i] - 1;
      if (j >= 0 && sType[j] === 1) sa[--bucket[s[j]]] = j;
    }
  };

  // 1. Sort the LMS substrings by inducing from LMS positions placed at their bucket ends.
  sa.fill(-1);
  bucketEnds();
  for (let i = 1; i < n; i++) if (isLms(i)) sa[--bucket[s[i]]] = i;
  induce();

  // 2. Name the sorted LMS substrings; recurse if two are equal.
  let n1 = 0;
  for (let i = 0; i < n; i++) if (isLms(sa[i])) sa[n1++] = sa[i];
  sa.fill(-1, n1);
  let names = 0;
  let prev = -1;
  for (let i = 0; i < n1; i++) {
    const pos = sa[i];
    let differs = false;
    for (let d = 0; ; d++) {
      if (prev === -1 || s[pos + d] !== s[prev + d] || sType[pos + d] !== sType[prev + d]) {
        differs = true;
        break;
      }
      if (d > 0 && (isLms(pos + d) || isLms(prev + d))) break;
    }
    if (differs) {
      names++;
      prev = pos;
    }
    sa[n1 + (pos >> 1)] = names - 1;
  }
  const reduced = new Int32Array(n1);
  for (let i = n1, k = 0; i < n; i++) if (sa[i] >= 0) reduced[k++] = sa[i];
  let reducedSa: Int32Array;
  if (names < n1) {
    reducedSa = suffixArray(reduced, names);
  } else {
    reducedSa = new Int32Array(n1);
    for (let i = 0; i < n1; i++) reducedSa[reduced[i]] = i;
  }

  // 3. Induce the full order from the sorted LMS suffixes.
  const lmsPositions = reduced;
  for (let i = 1, k = 0; i < n; i++) if (isLms(i)) lmsPositions[k++] = i;
  for (let i = 0; i < n1; i++) reducedSa[i] = lmsPositions[reducedSa[i]];
  sa.fill(-1);
  bucketEnds();
  for (let i = n1 - 1; i >= 0; i--) {
    const j = reducedSa[i];
    sa[--bucket[s[j]]] = j;
  }
  induce();
  return sa;
}
