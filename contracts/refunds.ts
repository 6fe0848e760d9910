/** API.md "Refunds and returns" and "Payments with a real provider": shared types. */

export type RefundStatus = "succeeded" | "pending" | "failed";

/** API.md refund: `POST /api/orders/:id/refunds` answers it. */
export interface Refund {
  id: string;
  orderId: string;
  amount: number;
  reason: string;
  status: RefundStatus;
  createdAt: string;
}

export type ReturnStatus = "requested" | "receiving" | "refunded" | "rejected";

export interface ReturnLine {
  variantId: string;
  quantity: number;
}

/** API.md `return`. */
export interface OrderReturn {
  id: string;
  orderId: string;
  userId: string | null;
  items: ReturnLine[];
  reason: string;
  status: ReturnStatus;
  refundAmount: number;
  refundId?: string;
  rejectReason?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RefundEventData {
  orderId: string;
  userId: string | null;
  refundId: string;
  amount: number;
  currency: string;
}

export interface ReturnRequestedEventData {
  returnId: string;
  orderId: string;
  userId: string | null;
  items: ReturnLine[];
  reason: string;
  refundAmount: number;
  currency: string;
}

/** Where a provider's payment stands (PaymentStatus adds the store's own states). */
export type ProviderPaymentStatus = "succeeded" | "failed" | "requires_action" | "processing";
