// The documentation's picture of a run page: the player stepped to FRAME, coloured by error.
// Usage: node screenshot.mjs URL RUN_ID OUT.png [FRAME]   (a `learnsim view` serving RUN_ID)
import { chromium } from "playwright-core";

const [url, run, out, frame = "100"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${url}#/run/${run}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector("#panel-truth");
  const slider = page.locator("#frame");
  const last = Number(await slider.getAttribute("max"));
  await slider.evaluate((s, f) => { s.value = f; s.dispatchEvent(new Event("input")); }, Math.min(Number(frame), last));
  if (await page.locator("#colour").isVisible()) await page.selectOption("#colour", "error");
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
