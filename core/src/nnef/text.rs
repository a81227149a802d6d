//! A reader of the `graph.nnef` text tract writes, into tract's own syntax tree
//! ([`Document`]), for loading the pre-optimised form.
//!
//! tract's parser (nom, with verbose errors that allocate at every alternative it tries)
//! spends about 60 ms on the default pack's two graphs, a fifth of loading it. This reader
//! goes through the text once. It follows tract's grammar, down to where a `-` belongs
//! to a number and how binary operators group, and for the text tract's writer emits
//! gives the tree tract's parser gives. What it does not read (subscripts,
//! comprehensions, `if`/`else`, identifiers that tract would take for a literal, or any
//! text it cannot parse) it declines with `None`, and loading reads the file with tract's
//! parser, which also gives the error a malformed file deserves. The tests hold both
//! parsers to the same tree on every graph the project ships.

use tract_nnef::ast::{
    Argument, Assignment, Document, FragmentDecl, FragmentDef, GraphDef, Identifier, Invocation,
    LValue, Literal, Parameter, RValue, Result_, TypeName, TypeSpec,
};

/// The tree of a `graph.nnef` text, or `None` where this reader leaves it to tract's.
pub(crate) fn parse_document(text: &str) -> Option<Document> {
    let mut text = Text { rest: text };
    let document = text.document()?;
    text.skip_space();
    text.rest.is_empty().then_some(document)
}

/// The text not read yet. Every method returns `None` on what it does not read, with
/// the text then in no particular place (a `None` abandons the whole document).
struct Text<'t> {
    rest: &'t str,
}

impl<'t> Text<'t> {
    /// Spaces, tabs, line breaks and `#` comments to the end of their line.
    fn skip_space(&mut self) {
        loop {
            self.rest = self.rest.trim_start_matches([' ', '\t', '\n', '\r']);
            match self.rest.strip_prefix('#') {
                Some(comment) => {
                    let end = comment.find(['\r', '\n']).unwrap_or(comment.len());
                    self.rest = &comment[end..];
                }
                None => return,
            }
        }
    }

    /// Whether the text (after spaces) starts with `token`, which is then read. As in
    /// tract's grammar, a keyword matches the start of a longer word too.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Option<()> {
        self.eat(token).then_some(())
    }

    fn next_is(&mut self, token: &str) -> bool {
        self.skip_space();
        self.rest.starts_with(token)
    }

    /// `item ("," item)*`, possibly empty, up to `close` (read too).
    fn list<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Some(items);
        }
        loop {
            items.push(item(self)?);
            if self.eat(close) {
                return Some(items);
            }
            self.expect(",")?;
        }
    }

    fn document(&mut self) -> Option<Document> {
        self.expect("version")?;
        let version = self.numeric()?;
        self.expect(";")?;
        let mut extension = Vec::new();
        while self.eat("extension") {
            let id = self.identifier()?;
            self.skip_space();
            let end = self.rest.find(';')?;
            extension.push((id, self.rest[..end].to_string()));
            self.rest = &self.rest[end + 1..];
        }
        let mut fragments = Vec::new();
        while self.eat("fragment") {
            fragments.push(self.fragment()?);
        }
        self.expect("graph")?;
        let id = self.identifier()?;
        self.expect("(")?;
        let parameters = self.list(")", Self::identifier)?;
        self.expect("->")?;
        self.expect("(")?;
        let results = self.list(")", Self::identifier)?;
        let body = self.body()?;
        let graph_def = GraphDef {
            id,
            parameters,
            results,
            body,
        };
        Some(Document {
            version,
            extension,
            fragments,
            graph_def,
        })
    }

    /// A fragment after its keyword: declaration, then a body or `;`.
    fn fragment(&mut self) -> Option<FragmentDef> {
        let id = self.identifier()?;
        let generic_decl = if self.eat("<") {
            self.expect("?")?;
            let name = if self.eat("=") {
                Some(self.type_name()?)
            } else {
                None
            };
            self.expect(">")?;
            Some(name)
        } else {
            None
        };
        self.expect("(")?;
        let parameters = self.list(")", |text| {
            let id = text.identifier()?;
            text.expect(":")?;
            let spec = text.type_spec()?;
            let lit = if text.eat("=") {
                Some(text.literal_expr()?)
            } else {
                None
            };
            Some(Parameter {
                id,
                spec,
                lit,
                doc: None,
            })
        })?;
        self.expect("->")?;
        self.expect("(")?;
        let results = self.list(")", |text| {
            let id = text.identifier()?;
            text.expect(":")?;
            Some(Result_ {
                id,
                spec: text.type_spec()?,
            })
        })?;
        let decl = FragmentDecl {
            id,
            generic_decl,
            parameters,
            results,
        };
        let body = if self.eat(";") {
            None
        } else {
            Some(self.body()?)
        };
        Some(FragmentDef { decl, body })
    }

    /// `{ (lvalue = rvalue ;)* }`
    fn body(&mut self) -> Option<Vec<Assignment>> {
        self.expect("{")?;
        let mut body = Vec::new();
        while !self.eat("}") {
            let left = self.lvalue()?;
            self.expect("=")?;
            let right = self.rvalue()?;
            self.expect(";")?;
            body.push(Assignment { left, right });
        }
        Some(body)
    }

    /// Names assigned to: one, or several as a tuple, with or without parentheses.
    fn lvalue(&mut self) -> Option<LValue> {
        let mut items = vec![self.inner_lvalue()?];
        while self.eat(",") {
            items.push(self.inner_lvalue()?);
        }
        Some(if items.len() == 1 {
            items.remove(0)
        } else {
            LValue::Tuple(items)
        })
    }

    fn inner_lvalue(&mut self) -> Option<LValue> {
        if self.eat("[") {
            self.list("]", Self::inner_lvalue).map(LValue::Array)
        } else if self.eat("(") {
            self.list(")", Self::inner_lvalue).map(LValue::Tuple)
        } else {
            self.identifier().map(LValue::Identifier)
        }
    }

    /// An expression: binary operators grouped left to right, tightest first.
    fn rvalue(&mut self) -> Option<RValue> {
        let value = self.binary(0)?;
        // `then if cond else otherwise`: not written by tract's serialiser.
        (!self.next_is("if")).then_some(value)
    }

    fn binary(&mut self, level: usize) -> Option<RValue> {
        // From the loosest to the tightest binding, as tract's grammar nests them.
        const LEVELS: [&[&str]; 6] = [
            &["in"],
            &["||", "&&"],
            &["==", "!=", "<=", ">=", "<", ">"],
            &["+", "-"],
            &["*", "/"],
            &["^"],
        ];
        let Some(operators) = LEVELS.get(level) else {
            return self.operand();
        };
        let mut left = self.binary(level + 1)?;
        while let Some(&operator) = operators.iter().find(|&&op| self.rest.starts_with(op)) {
            self.rest = &self.rest[operator.len()..];
            let right = self.binary(level + 1)?;
            left = RValue::Binary(Box::new(left), operator.to_string(), Box::new(right));
        }
        Some(left)
    }

    /// An operand, and the spaces after it (the binary operators match without).
    fn operand(&mut self) -> Option<RValue> {
        let value = self.atom()?;
        self.skip_space();
        // A subscript (`value[...]`): not written by tract's serialiser.
        (!self.rest.starts_with('[')).then_some(value)
    }

    fn atom(&mut self) -> Option<RValue> {
        self.skip_space();
        let first = *self.rest.as_bytes().first()?;
        if first == b'_' || first.is_ascii_alphabetic() {
            // An invocation, a logical literal or a name.
            if self.next_is_escaped_identifier() {
                let id = self.identifier()?;
                return self.invocation_of(id);
            }
            let word = self.word();
            if ["true", "false", "inf"].iter().any(|w| word.starts_with(w)) {
                // Literals in tract's grammar, even at the start of a longer name (which
                // then fails to parse), unless invoked.
                let literal = match word {
                    "true" | "false" => Literal::Logical(word == "true"),
                    "inf" => Literal::Numeric(word.to_string()),
                    _ => return None,
                };
                self.rest = &self.rest[word.len()..];
                return (!self.next_is("(") && !self.next_is("<"))
                    .then_some(RValue::Literal(literal));
            }
            let id = self.identifier()?;
            return self.invocation_of(id);
        }
        match first {
            b'0'..=b'9' => Some(RValue::Literal(Literal::Numeric(self.numeric()?))),
            b'-' if self.rest[1..].starts_with(|c: char| c.is_ascii_digit())
                || self.rest[1..].starts_with("inf") =>
            {
                Some(RValue::Literal(Literal::Numeric(self.numeric()?)))
            }
            b'"' | b'\'' => Some(RValue::Literal(Literal::String(self.string()?))),
            b'+' | b'-' | b'!' => {
                self.rest = &self.rest[1..];
                let operand = self.rvalue()?;
                Some(RValue::Unary(
                    (first as char).to_string(),
                    Box::new(operand),
                ))
            }
            b'(' => {
                self.rest = &self.rest[1..];
                let mut items = self.list(")", Self::rvalue)?;
                Some(if items.len() == 1 {
                    items.remove(0)
                } else {
                    RValue::Tuple(items)
                })
            }
            b'[' => {
                self.rest = &self.rest[1..];
                // A comprehension (`[for ...]`): not written by tract's serialiser.
                if self.next_is("for") {
                    return None;
                }
                self.list("]", Self::rvalue).map(RValue::Array)
            }
            _ => None,
        }
    }

    /// `id(args)` or `id<type>(args)` if that follows, else the name alone.
    fn invocation_of(&mut self, id: Identifier) -> Option<RValue> {
        let generic_type_name = if self.next_is("<") {
            // A type in angle brackets, or a comparison: only the first is read here.
            let before = self.rest;
            self.rest = &self.rest[1..];
            let name = self.type_name();
            if name.is_none() || !self.eat(">") || !self.next_is("(") {
                self.rest = before;
                return Some(RValue::Identifier(id));
            }
            name
        } else {
            None
        };
        if !self.eat("(") {
            return Some(RValue::Identifier(id));
        }
        let arguments = self.list(")", |text| {
            // `name = value` or a value alone.
            let before = text.rest;
            if let Some(id) = text.identifier()
                && text.eat("=")
            {
                let rvalue = text.rvalue()?;
                return Some(Argument {
                    id: Some(id),
                    rvalue,
                });
            }
            text.rest = before;
            Some(Argument {
                id: None,
                rvalue: text.rvalue()?,
            })
        })?;
        Some(RValue::Invocation(Invocation {
            id,
            generic_type_name,
            arguments,
        }))
    }

    fn next_is_escaped_identifier(&self) -> bool {
        self.rest.starts_with("i\"") || self.rest.starts_with("i'")
    }

    /// The run of letters, digits and `_` the text starts with.
    fn word(&self) -> &'t str {
        let end = self
            .rest
            .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
            .unwrap_or(self.rest.len());
        &self.rest[..end]
    }

    /// A name: `i"any text"` or letters, digits and `_` not starting with a digit.
    fn identifier(&mut self) -> Option<Identifier> {
        self.skip_space();
        if self.next_is_escaped_identifier() {
            self.rest = &self.rest[1..];
            return self.string().map(Identifier);
        }
        let word = self.word();
        if word.is_empty() || word.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        self.rest = &self.rest[word.len()..];
        Some(Identifier(word.to_string()))
    }

    /// `-? (digits | inf) (. digits?)? ([eE] [+-]? digits)?`, as written.
    fn numeric(&mut self) -> Option<String> {
        self.skip_space();
        let bytes = self.rest.as_bytes();
        let digits = |from: usize| {
            bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut end = usize::from(bytes.first() == Some(&b'-'));
        match digits(end) {
            0 if self.rest[end..].starts_with("inf") => end += 3,
            0 => return None,
            n => end += n,
        }
        if bytes.get(end) == Some(&b'.') {
            end += 1 + digits(end + 1);
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
            let exponent = digits(end + 1 + sign);
            if exponent > 0 {
                end += 1 + sign + exponent;
            }
        }
        let (number, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(number.to_string())
    }

    /// `"..."` or `'...'`; a backslash takes the next character as it is, and neither
    /// quote may appear unescaped inside.
    fn string(&mut self) -> Option<String> {
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')?;
        let mut value = String::new();
        let mut chars = self.rest[1..].char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                '"' | '\'' if c == quote => {
                    self.rest = &self.rest[1 + at + 1..];
                    return Some(value);
                }
                '"' | '\'' => return None,
                c => value.push(c),
            }
        }
        None
    }

    fn literal(&mut self) -> Option<Literal> {
        self.skip_space();
        match self.atom()? {
            RValue::Literal(literal) => Some(literal),
            _ => None,
        }
    }

    /// A parameter's default: a literal, or an array or tuple of them.
    fn literal_expr(&mut self) -> Option<Literal> {
        if self.eat("[") {
            self.list("]", Self::literal).map(Literal::Array)
        } else if self.eat("(") {
            self.list(")", Self::literal).map(Literal::Tuple)
        } else {
            self.literal()
        }
    }

    /// `name`, `tensor<name>` or `(spec, ...)`, then `[]` for an array of them.
    fn type_spec(&mut self) -> Option<TypeSpec> {
        let single = if self.eat("(") {
            TypeSpec::Tuple(self.list(")", Self::type_spec)?)
        } else if let Some(name) = self.type_name() {
            TypeSpec::Single(name)
        } else {
            self.expect("tensor")?;
            self.expect("<")?;
            let name = self.type_name()?;
            self.expect(">")?;
            TypeSpec::Tensor(name)
        };
        let before = self.rest;
        if self.eat("[") && self.eat("]") {
            return Some(TypeSpec::Array(Box::new(single)));
        }
        self.rest = before;
        Some(single)
    }

    fn type_name(&mut self) -> Option<TypeName> {
        const NAMES: [(&str, TypeName); 5] = [
            ("integer", TypeName::Integer),
            ("scalar", TypeName::Scalar),
            ("logical", TypeName::Logical),
            ("string", TypeName::String),
            ("?", TypeName::Any),
        ];
        self.skip_space();
        // tract built with complex numbers has one more name; leave that text to tract.
        if self.rest.starts_with("complex") {
            return None;
        }
        let &(word, name) = NAMES.iter().find(|(word, _)| self.rest.starts_with(word))?;
        self.rest = &self.rest[word.len()..];
        Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both parsers' trees for `text`: ours must equal tract's.
    fn assert_same_tree(text: &str) {
        let theirs = tract_nnef::ast::parse::parse_document(text).expect("tract parses it");
        let ours = parse_document(text).expect("ours parses it");
        assert_eq!(ours, theirs);
    }

    /// A graph header and footer around some assignments.
    fn graph(body: &str) -> String {
        format!("version 1.0;\ngraph g(x) -> (y) {{\n{body}\n}}\n")
    }

    #[test]
    fn the_bundled_packs_graphs_read_as_tract_reads_them() {
        for name in ["vision", "decoder"] {
            let path = format!(
                "{}/../models/default/{name}.nnef.tar",
                env!("CARGO_MANIFEST_DIR")
            );
            let bytes = std::fs::read(&path).unwrap();
            let mut archive = tar::Archive::new(&bytes[..]);
            let mut entry = archive
                .entries()
                .unwrap()
                .map(Result::unwrap)
                .find(|e| e.path().unwrap().ends_with("graph.nnef"))
                .expect("a graph.nnef");
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            assert_same_tree(&text);
        }
    }

    #[test]
    fn the_whole_grammar_tract_writes_reads_as_tract_reads_it() {
        let text = r#"# a comment before anything
version 1.0;
extension tract_registry lightcap;
extension tract_symbol   batch ;

fragment plain(x: tensor<scalar>, n: integer = 3, axes: integer[] = [0, 1],
    pair: (integer, logical) = (2, true), s: string = 'it\'s', any: ? = -1.5e-3) -> (y: tensor<scalar>);
fragment generic<? = scalar>(x: tensor<?>) -> (y: tensor<?>, z: (string, tensor<scalar>)[])
{
  y = x; # a comment at the end of a line
  z = [("a", tract_core_cast(8, to = "i64"))];
}
fragment no_default<?>() -> (y: tensor<logical>) { y = true; }

graph network(image, i"odd name", _9) -> (out, i"second") {
  image = external<scalar>(shape = [1, 3, 224, 224]);
  i"a.b/c:0" = [[[[0.485]], [[0.456]]], [], [-inf, inf, 1., -0.5, 2e10, 3E+2]];
  x = conv(image, i"w", border = "constant", padding = [(0, 1), (1, 1)], groups = 1);
  ( i"k", i"v" ) = tract_core_topk(x, k, largest = false, axis = 1);
  a, b = split(x);
  [c, d] = split(x);
  e = reshape(x, shape = [(batch * new), (past + 69), (12 * batch), -1]);
  f = a + b * c ^ d - e / 2 ^ 3 ^ 4;
  g = a < b || c >= d && e == f != g <= h > i;
  h = -a + -(b) * !c + +1 - -2;
  s = ["\\back\"slash", 'single \'quoted\'', "", 'x'];
  t = ((a, b), (c), ());
  u = max(i"a",i"b");
  v = variable < scalar > (label = "v", shape = [2]);
  w = a<b;
  out = mul(x, 0.5);
}
"#;
        assert_same_tree(text);
    }

    #[test]
    fn what_tract_writes_nowhere_is_left_to_tract() {
        for body in [
            "y = x[0];",
            "y = x[1:2];",
            "y = [for i in x yield i];",
            "y = a if c else b;",
            "y = info;",
            "y = true(x);",
            "y = f(a == b);",
            "y = 'unterminated;",
            "y = \"mixed';",
            "y = f(x;",
            "y = x",
        ] {
            let text = graph(body);
            assert_eq!(parse_document(&text), None, "{body}");
        }
        assert_eq!(
            parse_document("version 1.0; graph g() -> () {} trailing"),
            None
        );
        assert_eq!(parse_document(""), None);
    }
}
