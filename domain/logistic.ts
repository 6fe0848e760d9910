/**
 * Logistic regression, small enough to read: standardised inputs, batch gradient descent with
 * L2, and the measures the training script prints (precision, recall, ROC AUC, the threshold
 * for a false-positive rate). The one Node library for it (mljs' ml-logistic-regression) brings
 * a matrix package for what is a dot product here, and gives neither the standardisation stored
 * with the weights nor the per-input contributions the reasons are made of.
 */

export interface LogisticModel {
  weights: number[];
  bias: number;
  /** Per-input mean and scale the inputs are standardised with before the weights apply. */
  means: number[];
  scales: number[];
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function standardise(x: readonly number[], m: Pick<LogisticModel, "means" | "scales">): number[] {
  return x.map((v, i) => (v - m.means[i]) / m.scales[i]);
}

/** Each input's share of the logit (weight × standardised value): what the reasons are made of. */
export function contributions(m: LogisticModel, x: readonly number[]): number[] {
  return standardise(x, m).map((z, i) => z * m.weights[i]);
}

/** One pass, no arrays: it runs for every order at checkout. */
export function probability(m: LogisticModel, x: readonly number[]): number {
  let logit = m.bias;
  for (let i = 0; i < x.length; i++) logit += ((x[i] - m.means[i]) / m.scales[i]) * m.weights[i];
  return sigmoid(logit);
}

export function fit(
  xs: readonly number[][],
  ys: readonly number[],
  opts: { epochs?: number; rate?: number; l2?: number } = {},
): LogisticModel {
  const { epochs = 400, rate = 0.5, l2 = 1e-3 } = opts;
  const d = xs[0].length;
  const means = Array.from({ length: d }, (_, i) => xs.reduce((s, x) => s + x[i], 0) / xs.length);
  const scales = means.map((mu, i) => {
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x[i] - mu) ** 2, 0) / xs.length);
    return sd > 1e-9 ? sd : 1;
  });
  const zs = xs.map((x) => standardise(x, { means, scales }));
  const weights = new Array<number>(d).fill(0);
  let bias = 0;
  const grad = new Float64Array(d);
  for (let e = 0; e < epochs; e++) {
    grad.fill(0);
    let gradBias = 0;
    for (let n = 0; n < zs.length; n++) {
      const z = zs[n];
      let logit = bias;
      for (let i = 0; i < d; i++) logit += z[i] * weights[i];
      const err = sigmoid(logit) - ys[n];
      for (let i = 0; i < d; i++) grad[i] += err * z[i];
      gradBias += err;
    }
    for (let i = 0; i < d; i++) weights[i] -= rate * (grad[i] / zs.length + l2 * weights[i]);
    bias -= (rate * gradBias) / zs.length;
  }
  return { weights, bias, means, scales };
}

/** Area under the ROC curve: the chance a random positive scores above a random negative (ties count half). */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number {
  const idx = scores.map((s, i) => [s, labels[i]] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j < idx.length && idx[j][0] === idx[i][0]) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++)
      if (idx[k][1] === 1) {
        rankSum += avgRank;
        positives++;
      }
    i = j;
  }
  const negatives = idx.length - positives;
  if (!positives || !negatives) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function precisionRecall(scores: readonly number[], labels: readonly number[], threshold: number) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  scores.forEach((s, i) => {
    const flagged = s >= threshold;
    if (flagged && labels[i] === 1) tp++;
    else if (flagged) fp++;
    else if (labels[i] === 1) fn++;
    else tn++;
  });
  return {
    precision: tp + fp ? tp / (tp + fp) : 1,
    recall: tp + fn ? tp / (tp + fn) : 0,
    falsePositiveRate: fp + tn ? fp / (fp + tn) : 0,
  };
}

/**
 * The lowest threshold (over the given candidates, e.g. 0..100) whose false-positive rate on
 * the negatives stays at or below `fpr`: the most fraud caught for that many honest orders flagged.
 */
export function thresholdForFpr(
  scores: readonly number[],
  labels: readonly number[],
  fpr: number,
  candidates: readonly number[],
): number {
  const ok = [...candidates]
    .sort((a, b) => a - b)
    .filter((t) => precisionRecall(scores, labels, t).falsePositiveRate <= fpr);
  return ok.length ? ok[0] : Math.max(...candidates) + 1;
}
