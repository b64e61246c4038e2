// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { isDark, setTheme, storedTheme, THEME_SCRIPT } from "../theme";

afterEach(() => {
  localStorage.clear();
  document.documentElement.className = "";
});

describe("theme", () => {
  it("is kept per user, with the browser's latest choice for signed-out pages", () => {
    expect(storedTheme()).toBe("system");
    localStorage.setItem("corkboard.lastUser", JSON.stringify({ id: "u1", username: "ann" }));
    setTheme("dark");
    expect(storedTheme()).toBe("dark");
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    localStorage.setItem("corkboard.lastUser", JSON.stringify({ id: "u2", username: "bob" }));
    localStorage.setItem("corkboard.theme.u2", "light");
    expect(storedTheme()).toBe("light");
    localStorage.removeItem("corkboard.lastUser"); // signed out
    expect(storedTheme()).toBe("dark");
  });

  it("system follows the OS", () => {
    expect(isDark("system", true)).toBe(true);
    expect(isDark("system", false)).toBe(false);
    expect(isDark("light", true)).toBe(false);
    expect(isDark("dark", false)).toBe(true);
  });

  it("the inline script applies the stored choice before paint", () => {
    localStorage.setItem("corkboard.lastUser", JSON.stringify({ id: "u1", username: "ann" }));
    localStorage.setItem("corkboard.theme.u1", "dark");
    new Function(THEME_SCRIPT)();
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    expect(document.documentElement.style.colorScheme).toBe("dark");
    localStorage.setItem("corkboard.theme.u1", "light");
    new Function(THEME_SCRIPT)();
    expect(document.documentElement.classList.contains("dark")).toBe(false);
  });
});
