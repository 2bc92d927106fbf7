// The marketplace's icons as SVG path data (24 × 24, drawn with a round 1.8 px stroke in the text
// colour by components/icons.tsx). The templates and skills name one of these keys (`icon` in
// marketplace template.json / skill.json, checked against ICON_KEYS in @tropic/marketplace); nothing
// in the dashboard is an emoji, which renders as an empty box where no emoji font is installed.
// Plain data, no JSX: the tests read it too.

export const ICON_SHAPES: Record<string, readonly string[]> = {
  // templates
  "palm-tree": [
    "M11 21c.6-3.6 1.2-7.4 1.5-11",
    "M12.5 10C10 7.2 6.2 7 3.5 9",
    "M12.5 10c2.5-2.8 6.3-3 9-1",
    "M12.5 10C11.2 6.6 8.6 5 5.5 5",
    "M12.5 10c1.3-3.4 3.9-5 7-5",
    "M6 21h12",
  ],
  microscope: [
    "M6 18h8",
    "M3 22h18",
    "M14 22a7 7 0 1 0 0-14h-1",
    "M9 14h2",
    "M9 12a2 2 0 0 1-2-2V6h6v4a2 2 0 0 1-2 2Z",
    "M12 6V3a1 1 0 0 0-1-1H9a1 1 0 0 0-1 1v3",
  ],
  lifebuoy: [
    "M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0Z",
    "M16 12a4 4 0 1 1-8 0 4 4 0 0 1 8 0Z",
    "m4.93 4.93 4.24 4.24",
    "m14.83 9.17 4.24-4.24",
    "m14.83 14.83 4.24 4.24",
    "m9.17 14.83-4.24 4.24",
  ],
  wrench: [
    "M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.77-3.77a6 6 0 0 1-7.94 7.94l-6.91 6.91a2.12 2.12 0 0 1-3-3l6.91-6.91a6 6 0 0 1 7.94-7.94l-3.76 3.76Z",
  ],
  coins: ["M14 8a6 6 0 1 1-12 0 6 6 0 0 1 12 0Z", "M18.09 10.37A6 6 0 1 1 10.34 18", "M7 6h1v4", "m16.71 13.88.7.71-2.82 2.82"],
  target: ["M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0Z", "M18 12a6 6 0 1 1-12 0 6 6 0 0 1 12 0Z", "M14 12a2 2 0 1 1-4 0 2 2 0 0 1 4 0Z"],
  pen: ["M12 20h9", "M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4Z"],
  // skills
  table: ["M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2Z", "M3 9h18", "M3 15h18", "M9 9v12"],
  search: ["M19 11a8 8 0 1 1-16 0 8 8 0 0 1 16 0Z", "m21 21-4.3-4.3"],
  "git-branch": ["M6 3v12", "M21 6a3 3 0 1 1-6 0 3 3 0 0 1 6 0Z", "M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0Z", "M18 9a9 9 0 0 1-9 9"],
  calendar: [
    "M5 4h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Z",
    "M16 2v4",
    "M8 2v4",
    "M3 10h18",
    "M8 14h.01",
    "M12 14h.01",
    "M16 14h.01",
    "M8 18h.01",
    "M12 18h.01",
  ],
  "bar-chart": ["M3 3v16a2 2 0 0 0 2 2h16", "M18 17V9", "M13 17V5", "M8 17v-3"],
  "set-square": ["M3 21V3l18 18Z", "M7 17v-4.5l4.5 4.5Z", "M3 7h2.5", "M3 11h2", "M3 15h2.5"],
  notebook: [
    "M13.4 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-7.4",
    "M2 6h4",
    "M2 10h4",
    "M2 14h4",
    "M2 18h4",
    "M21.38 5.63a2.12 2.12 0 1 0-3-3l-5.01 5.01a2 2 0 0 0-.51.86l-.84 2.87a.5.5 0 0 0 .62.62l2.87-.84a2 2 0 0 0 .86-.51Z",
  ],
  "chat-bubble": ["M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2Z", "M7 8h10", "M7 12h6"],
  "check-square": ["M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2Z", "m9 12 2 2 4-4"],
  "sun-cloud": [
    "M12 2v2",
    "m4.93 4.93 1.41 1.41",
    "M20 12h2",
    "m19.07 4.93-1.41 1.41",
    "M15.95 12.65a4 4 0 0 0-5.93-4.13",
    "M13 22H7a5 5 0 1 1 4.9-6H13a3 3 0 0 1 0 6Z",
  ],
};

/** Drawn for a key the dashboard does not know (a newer catalog): a plain box, never nothing. */
export const FALLBACK_ICON: readonly string[] = ["M21 8 12 3 3 8v8l9 5 9-5Z", "m3 8 9 5 9-5", "M12 13v8"];
