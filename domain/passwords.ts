/**
 * Password hashing: argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane). Slow on purpose.
 */
import { hash, verify, type Algorithm } from "@node-rs/argon2";

/** `Algorithm.Argon2id`: a const enum, which isolatedModules cannot read. */
const ARGON2ID = 2 as Algorithm;

export const ARGON2_PARAMS = {
  algorithm: ARGON2ID,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

/** False for a wrong password and for a malformed hash alike: the caller only learns "no". */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** The parameters encoded in a PHC string ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"). */
export function hashParams(
  passwordHash: string,
): { algorithm: string; version: number; m: number; t: number; p: number } | null {
  const m = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+$/.exec(passwordHash);
  if (!m) return null;
  return { algorithm: m[1], version: Number(m[2]), m: Number(m[3]), t: Number(m[4]), p: Number(m[5]) };
}
