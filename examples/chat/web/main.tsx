/**
 * Entry of the chat page: one conversation per `?chat=<name>` (default "main").
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";

const name = new URLSearchParams(location.search).get("chat") || "main";
const root = document.getElementById("root");
if (root === null) throw new Error("missing #root");
createRoot(root).render(
  <StrictMode>
    <App name={name} />
  </StrictMode>,
);
