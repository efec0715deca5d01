// The dashboard in a real browser: headless Chromium (Debian's package) driven by
// playwright-core. tests/tests/browser.rs starts Greenlight and runs this with:
//   GL_BASE, GL_API (optional: where the API is, if not at GL_BASE), GL_EMAIL, GL_PASSWORD, GL_API_KEY (an admin key), GL_FIRST (a request to
//   approve with changes), GL_SECOND (a request decided through the API, on behalf of
//   its approver ops@example.com, while its page is open),
//   GL_SCREENSHOTS (a folder), GL_CHROMIUM (the browser's path), and on the WebSocket
//   API GL_DROP_SOCKETS (a URL that ends every open socket when posted to).
// Exits non-zero, with the reason, on the first expectation that does not hold.
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set`);
  return v;
};
const base = env("GL_BASE");
// Where the API is, when it is not where the dashboard is (on AWS: the api function).
const api = process.env.GL_API || base;
const shots = env("GL_SCREENSHOTS");

function expect(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}

const browser = await chromium.launch({
  executablePath: env("GL_CHROMIUM"),
  args: ["--no-sandbox"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // Signed out: the dashboard sends us to sign in, and back after.
  await page.goto(`${base}/dashboard/approvals/${env("GL_FIRST")}`);
  expect(page.url().includes("/dashboard/sign-in"), `a redirect to sign in, got ${page.url()}`);
  await page.getByLabel("Email").fill(env("GL_EMAIL"));
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  expect(await page.getByRole("alert").isVisible(), "a refusal for a wrong password");
  await page.getByLabel("Password").fill(env("GL_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**/dashboard/approvals/${env("GL_FIRST")}`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "gl_session");
  expect(session && session.httpOnly && session.sameSite === "Lax", `an HttpOnly SameSite=Lax session cookie: ${JSON.stringify(session)}`);

  // The inbox lists both requests.
  await page.goto(`${base}/dashboard`);
  expect(await page.getByRole("link", { name: "Refund order 1234" }).count() >= 1, "the request in the inbox");
  await page.screenshot({ path: `${shots}/inbox.png`, fullPage: true });

  // Approve with changes through the uiSchema form; a value out of range first.
  await page.goto(`${base}/dashboard/approvals/${env("GL_FIRST")}`);
  await page.getByLabel("amount").fill("500");
  await page.getByRole("button", { name: "Approve with changes" }).click();
  expect((await page.getByRole("alert").innerText()).includes("amount"), "the field's error");
  expect((await page.locator("#status").innerText()) === "PENDING", "nothing decided on a bad value");
  await page.getByLabel("amount").fill("80");
  await page.getByLabel("Feedback").fill("half now, half next week");
  await page.getByRole("button", { name: "Approve with changes" }).click();
  await page.waitForSelector("#status.APPROVED");
  const timeline = await page.locator("#timeline").innerText();
  expect(timeline.includes("approval.modified") && timeline.includes("web:"), `the decision in the timeline: ${timeline}`);
  expect(timeline.includes("changed:"), "what changed between snapshots");
  expect((await page.locator("#chain").innerText()).includes("Verified"), "the audit chain verified");
  const approved = await page.locator("#approved").innerText();
  expect(approved.includes("80") && approved.includes("was 120"), `the action as approved: ${approved}`);
  await page.screenshot({ path: `${shots}/approved-with-changes.png`, fullPage: true });

  // A request decided through the API while its page is open: the page shows it
  // without a reload (the marker set on this document survives).
  await page.goto(`${base}/dashboard/approvals/${env("GL_SECOND")}`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  await page.evaluate(() => { window.__sameDocument = true; });
  // On the WebSocket API, whose sockets end after ten idle minutes or two hours at
  // most, the page connects again with a fresh ticket and goes on following.
  const drop = process.env.GL_DROP_SOCKETS;
  if (drop) {
    const dropped = await fetch(drop, { method: "POST" });
    expect(dropped.status === 200, `the sockets dropped, got ${dropped.status}`);
    await page.waitForFunction(() => document.body.dataset.live === "closed");
    await page.waitForFunction(() => document.body.dataset.live === "open", null, { timeout: 10000 });
  }
  const decided = await fetch(`${api}/v1/approvals/${env("GL_SECOND")}/decision`, {
    method: "POST",
    headers: { authorization: `Bearer ${env("GL_API_KEY")}`, "content-type": "application/json" },
    body: JSON.stringify({ decision: "rejected", feedback: "not this week", respondedBy: "ops@example.com" }),
  });
  expect(decided.status === 200, `the API decision, got ${decided.status}`);
  await page.waitForSelector("#status.REJECTED", { timeout: 10000 });
  expect(await page.evaluate(() => window.__sameDocument === true), "no reload");
  expect((await page.locator("#outcome").innerText()).includes("Rejected by ops@example.com"), "the outcome");
  await page.screenshot({ path: `${shots}/decided-elsewhere.png`, fullPage: true });

  // A run waiting on a person: the decision, made through the API, moves its page on
  // (the human step and the step after it succeed) without a reload.
  await page.goto(`${base}/dashboard/runs/${env("GL_RUN")}`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  await page.evaluate(() => { window.__sameDocument = true; });
  expect(await page.locator('g.step.WAITING[data-key="ask"]').count() === 1, "the human step waits");
  const resumed = await fetch(`${api}/v1/approvals/${env("GL_RUN_APPROVAL")}/decision`, {
    method: "POST",
    headers: { authorization: `Bearer ${env("GL_API_KEY")}`, "content-type": "application/json" },
    body: JSON.stringify({ decision: "approved", respondedBy: "ops@example.com" }),
  });
  expect(resumed.status === 200, `the run's decision, got ${resumed.status}`);
  await page.waitForSelector('g.step.SUCCEEDED[data-key="done"]', { timeout: 10000 });
  expect(await page.evaluate(() => window.__sameDocument === true), "no reload");
  expect((await page.locator("[data-terminal]").innerText()).includes("SUCCEEDED"), "the run succeeded");
  await page.screenshot({ path: `${shots}/run-live.png`, fullPage: true });

  // At phone width the page still fits and keeps its controls reachable by keyboard.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/dashboard`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `no sideways scrolling at 390 px (overflow ${overflow}px)`);
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  expect(focused === "A", `the first Tab focuses a link, got ${focused}`);
  await page.screenshot({ path: `${shots}/inbox-phone.png`, fullPage: true });
  console.log("dashboard browser test passed");
} finally {
  await browser.close();
}
