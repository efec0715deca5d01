//! The HTML and text templates (emails, approval-link pages), parsed once.

use std::sync::LazyLock;

use minijinja::Environment;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("email.html", include_str!("../templates/email.html")),
        ("email.txt", include_str!("../templates/email.txt")),
        ("link.html", include_str!("../templates/link.html")),
        (
            "dashboard/layout.html",
            include_str!("../templates/dashboard/layout.html"),
        ),
        (
            "dashboard/sign_in.html",
            include_str!("../templates/dashboard/sign_in.html"),
        ),
        (
            "dashboard/invite.html",
            include_str!("../templates/dashboard/invite.html"),
        ),
        (
            "dashboard/inbox.html",
            include_str!("../templates/dashboard/inbox.html"),
        ),
        (
            "dashboard/inbox_list.html",
            include_str!("../templates/dashboard/inbox_list.html"),
        ),
        (
            "dashboard/live.html",
            include_str!("../templates/dashboard/live.html"),
        ),
        (
            "dashboard/refused.html",
            include_str!("../templates/dashboard/refused.html"),
        ),
        (
            "dashboard/dag.html",
            include_str!("../templates/dashboard/dag.html"),
        ),
        (
            "dashboard/runs_table.html",
            include_str!("../templates/dashboard/runs_table.html"),
        ),
        (
            "dashboard/workflows.html",
            include_str!("../templates/dashboard/workflows.html"),
        ),
        (
            "dashboard/workflow.html",
            include_str!("../templates/dashboard/workflow.html"),
        ),
        (
            "dashboard/runs.html",
            include_str!("../templates/dashboard/runs.html"),
        ),
        (
            "dashboard/run.html",
            include_str!("../templates/dashboard/run.html"),
        ),
        (
            "dashboard/run_live.html",
            include_str!("../templates/dashboard/run_live.html"),
        ),
        (
            "dashboard/approval.html",
            include_str!("../templates/dashboard/approval.html"),
        ),
        (
            "dashboard/approval_live.html",
            include_str!("../templates/dashboard/approval_live.html"),
        ),
        (
            "dashboard/admin.html",
            include_str!("../templates/dashboard/admin.html"),
        ),
        (
            "dashboard/mailbox.html",
            include_str!("../templates/dashboard/mailbox.html"),
        ),
        (
            "dashboard/jobs.html",
            include_str!("../templates/dashboard/jobs.html"),
        ),
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not parse: {e}"));
    }
    env
});

/// Renders template `name` (HTML-escaped when it ends in `.html`).
pub fn render(name: &str, context: impl serde::Serialize) -> String {
    TEMPLATES
        .get_template(name)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| panic!("template {name} does not render: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let ctx = minijinja::context! {
            name => "<script>alert(1)</script>", agent => "a&b", action_type => "x",
            fields => Vec::<(String, String)>::new(), expires => "soon", link => "https://x/a/t",
            reminder => false,
        };
        let html = render("email.html", &ctx);
        assert!(
            html.contains("&lt;script&gt;") && !html.contains("<script>"),
            "{html}"
        );
        let text = render("email.txt", &ctx);
        assert!(text.contains("<script>alert(1)</script>") && text.contains("a&b"));
    }
}
