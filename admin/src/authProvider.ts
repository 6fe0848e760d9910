/** react-admin's auth provider over the Session (sign-in refused to a customer; 401 -> sign in again). */
import type { AuthProvider } from "ra-core";
import { ApiError, type Session } from "./session";

export function shopAuthProvider(session: Session): AuthProvider {
  return {
    async login({ username, password }: { username: string; password: string }) {
      try {
        await session.login(username, password);
      } catch (err) {
        // The API's own words: wrong credentials, too many attempts, not an admin.
        throw new Error(err instanceof ApiError ? err.message : "Sign-in failed", { cause: err });
      }
    },
    logout: () => session.logout(),
    async checkAuth() {
      if (!session.signedIn || !(await session.ensureFresh())) throw new Error("Sign in");
    },
    async checkError(error: { status?: number }) {
      if (error?.status === 401) {
        await session.logout();
        throw new Error("Your session has ended: sign in again");
      }
    },
    async getIdentity() {
      const user = session.user;
      if (!user) throw new Error("Sign in");
      return { id: user.id, fullName: user.name || user.email };
    },
    async getPermissions() {
      return session.user?.role;
    },
  };
}
