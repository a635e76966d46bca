/** The inspector's entry: theme, session, then the app. */
import { render } from "preact";
import "./styles.css";
import { App } from "./app.tsx";
import { startSession } from "./session.ts";
import { applyTheme, theme } from "./theme.ts";

applyTheme(theme.value);
const root = document.getElementById("app");
if (root !== null) {
  render(<App />, root);
  void startSession();
}
