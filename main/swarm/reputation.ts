/**
 * Per-camera Beta(α, β) reputation with exponential decay towards the uniform prior Beta(1, 1):
 * old agreement and disagreement fade with the given half-life, so a camera that was fixed
 * recovers and one that degrades is noticed. It ranks cameras; it never changes the f+1 rule.
 */
export interface BetaScore {
  alpha: number;
  beta: number;
  /** Mean α/(α+β): 0.5 with no evidence. */
  score: number;
  agreements: number;
  disagreements: number;
}

export interface Reputation {
  agree(camera: string, at: number): void;
  disagree(camera: string, at: number): void;
  get(camera: string, at: number): BetaScore;
  forget(camera: string): void;
}

export function createReputation(halfLifeMs = 10 * 60_000): Reputation {
  const state = new Map<string, { a: number; b: number; t: number; agreements: number; disagreements: number }>();
  const decayed = (camera: string, at: number) => {
    const s = state.get(camera) ?? { a: 1, b: 1, t: at, agreements: 0, disagreements: 0 };
    const dt = Math.max(0, at - s.t);
    if (dt > 0) {
      const k = Math.pow(0.5, dt / halfLifeMs);
      s.a = 1 + (s.a - 1) * k;
      s.b = 1 + (s.b - 1) * k;
      s.t = at;
    }
    state.set(camera, s);
    return s;
  };
  return {
    agree(camera, at) {
      const s = decayed(camera, at);
      s.a += 1;
      s.agreements++;
    },
    disagree(camera, at) {
      const s = decayed(camera, at);
      s.b += 1;
      s.disagreements++;
    },
    get(camera, at) {
      const s = decayed(camera, at);
      return { alpha: s.a, beta: s.b, score: s.a / (s.a + s.b), agreements: s.agreements, disagreements: s.disagreements };
    },
    forget: (camera) => void state.delete(camera),
  };
}
