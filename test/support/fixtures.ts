/** Values several suites use the same way. */
import { generateKeyPairSync } from "node:crypto";

export const ADDRESS = {
  name: "Ann Buyer",
  line1: "1 Main St",
  city: "Springfield",
  postalCode: "12345",
  country: "US",
};
export const VISA = { method: "card", token: "tok_visa" };
export const DECLINED = { method: "card", token: "tok_chargeDeclined" };
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh RS256 key pair in PEM, as JWT_PRIVATE_KEY / JWT_PUBLIC_KEY take it. */
export const rsaPair = () =>
  generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
