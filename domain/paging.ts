/** API.md "Lists": 1-based pages; a pageSize above the maximum is capped, not refused. */
import type { Page } from "../contracts";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function paging(page = 1, pageSize = DEFAULT_PAGE_SIZE) {
  const size = Math.min(Math.max(1, pageSize), MAX_PAGE_SIZE);
  const p = Math.max(1, page);
  return { page: p, pageSize: size, ...pageWindow(p, size) };
}

export function pageWindow(page: number, pageSize: number): { offset: number; limit: number } {
  return { offset: (page - 1) * pageSize, limit: pageSize };
}

export function totalPages(total: number, pageSize: number): number {
  return Math.ceil(total / pageSize);
}

export function pageOf<T>(rows: T[], total: number, page: number, pageSize: number): Page<T> {
  return { rows, total, page, pageSize, totalPages: totalPages(total, pageSize) };
}
