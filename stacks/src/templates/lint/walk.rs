//! Walks every expression of a body, so rules can find references wherever they hide
//! (string interpolations, heredocs, function arguments, `for` expressions).

use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::structure::{Body, Structure};
use hcl::edit::template::{Directive, Element, Template};

/// Calls `visit` with every attribute of `body` and its nested blocks, together
/// with the path of block types and attribute name that leads to it.
pub(super) fn attributes<'a>(
    body: &'a Body,
    path: &mut Vec<&'a str>,
    visit: &mut dyn FnMut(&[&'a str], &'a str, &'a Expression),
) {
    for structure in body.iter() {
        match structure {
            Structure::Attribute(a) => visit(path, a.key.as_str(), &a.value),
            Structure::Block(b) => {
                path.push(b.ident.as_str());
                attributes(&b.body, path, visit);
                path.pop();
            }
        }
    }
}

/// Calls `visit` with `expr` and every expression nested in it.
pub(super) fn expressions<'a>(expr: &'a Expression, visit: &mut dyn FnMut(&'a Expression)) {
    visit(expr);
    match expr {
        Expression::Array(a) => a.iter().for_each(|e| expressions(e, visit)),
        Expression::Object(o) => {
            for (k, v) in o.iter() {
                if let ObjectKey::Expression(k) = k {
                    expressions(k, visit);
                }
                expressions(v.expr(), visit);
            }
        }
        Expression::StringTemplate(t) => template(t, visit),
        Expression::HeredocTemplate(h) => template(&h.template, visit),
        Expression::Parenthesis(p) => expressions(p.inner(), visit),
        Expression::Conditional(c) => {
            expressions(&c.cond_expr, visit);
            expressions(&c.true_expr, visit);
            expressions(&c.false_expr, visit);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|a| expressions(a, visit)),
        Expression::Traversal(t) => {
            expressions(&t.expr, visit);
            for op in &t.operators {
                if let TraversalOperator::Index(i) = op.value() {
                    expressions(i, visit);
                }
            }
        }
        Expression::UnaryOp(u) => expressions(&u.expr, visit),
        Expression::BinaryOp(b) => {
            expressions(&b.lhs_expr, visit);
            expressions(&b.rhs_expr, visit);
        }
        Expression::ForExpr(f) => {
            expressions(&f.intro.collection_expr, visit);
            if let Some(k) = &f.key_expr {
                expressions(k, visit);
            }
            expressions(&f.value_expr, visit);
            if let Some(c) = &f.cond {
                expressions(&c.expr, visit);
            }
        }
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_)
        | Expression::Variable(_) => {}
    }
}

fn template<'a>(t: &'a Template, visit: &mut dyn FnMut(&'a Expression)) {
    for element in t.iter() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => expressions(&i.expr, visit),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    expressions(&d.if_expr.cond_expr, visit);
                    template(&d.if_expr.template, visit);
                    if let Some(e) = &d.else_expr {
                        template(&e.template, visit);
                    }
                }
                Directive::For(d) => {
                    expressions(&d.for_expr.collection_expr, visit);
                    template(&d.for_expr.template, visit);
                }
            },
        }
    }
}

/// The dotted names of a plain traversal such as `data.coder_parameter.cpu.value`
/// (`["data", "coder_parameter", "cpu", "value"]`), up to the first index or splat.
pub(super) fn traversal_names(expr: &Expression) -> Option<Vec<&str>> {
    match expr {
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else {
                return None;
            };
            let mut names = vec![root.as_str()];
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(name) => names.push(name.as_str()),
                    _ => break,
                }
            }
            Some(names)
        }
        Expression::Variable(v) => Some(vec![v.as_str()]),
        _ => None,
    }
}

/// The literal text of a template's literal parts, for rules that look for
/// `$NAME` in scripts.
pub(super) fn literal_text(expr: &Expression) -> String {
    let mut out = String::new();
    let mut push_template = |t: &Template| {
        for element in t.iter() {
            if let Element::Literal(l) = element {
                out.push_str(l.value());
            }
        }
    };
    match expr {
        Expression::String(s) => return s.value().clone(),
        Expression::StringTemplate(t) => push_template(t),
        Expression::HeredocTemplate(h) => push_template(&h.template),
        _ => {}
    }
    out
}
