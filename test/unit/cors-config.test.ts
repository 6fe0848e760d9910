import { ConfigError, loadConfig } from "../../lib/config";

describe("CORS_ORIGINS", () => {
  it("should allow no origin when unset", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it("should read a comma list of origins, and *", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://shop.example, http://localhost:5173" }).corsOrigins).toEqual([
      "https://shop.example",
      "http://localhost:5173",
    ]);
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
  });

  it.each(["shop.example", "https://shop.example/", "https://shop.example/path", "ftp://shop.example"])(
    "should refuse %s, naming the variable",
    (value) => {
      expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/);
    },
  );
});
