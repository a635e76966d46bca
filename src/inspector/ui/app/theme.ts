/** Dark and light themes (the system's choice until the user picks one) and shared UI flags. */
import { signal } from "@preact/signals";

export type Theme = "dark" | "light";

const STORAGE_KEY = "hearth-inspector-theme";

function initialTheme(): Theme {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === "dark" || stored === "light") return stored;
  return matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
}

export const theme = signal<Theme>(initialTheme());

export function applyTheme(next: Theme): void {
  theme.value = next;
  document.documentElement.dataset["theme"] = next;
  localStorage.setItem(STORAGE_KEY, next);
}

/** Whether the "Unlock writes" dialog is open (opened from the header or any locked control). */
export const unlockOpen = signal(false);
