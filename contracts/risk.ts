/** Order risk (API.md "Recommendations and order risk"): shown to admins only. */
export type RiskLevel = "low" | "elevated" | "high";

export interface OrderRisk {
  score: number;
  level: RiskLevel;
  reasons: string[];
}

export type ReviewDecision = "approve" | "reject";
