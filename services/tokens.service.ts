import type { ServiceSchema } from "moleculer";

const TokensService: ServiceSchema = {
  name: "tokens",
  actions: {
    jwks: {
      handler() {
        return { keys: [] };
      },
    },
  },
};
export default TokensService;
