/** Recommendations (API.md "Recommendations and order risk"). */
import type { Product } from "./index";

/**
 * `bought_together`: products customers bought with it (topped up from its category when
 * fewer); `popular_in_category`: nothing bought with it yet; `for_you`: from the customer's own
 * purchases (topped up with the most bought); `popular`: no purchases to go on.
 */
export type RecommendationStrategy = "bought_together" | "popular_in_category" | "for_you" | "popular";

export interface Recommendations {
  rows: Product[];
  strategy: RecommendationStrategy;
}
