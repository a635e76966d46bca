/** Tabs as links, so each tab has its own URL; the current one is marked for assistive tech. */
export interface TabLink {
  id: string;
  label: string;
  href: string;
}

export function TabLinks({ tabs, current, label }: { tabs: readonly TabLink[]; current: string; label: string }) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((tab) => (
        <a key={tab.id} href={tab.href} aria-current={tab.id === current ? "page" : undefined}>
          {tab.label}
        </a>
      ))}
    </nav>
  );
}
