fn main() {
    for t in std::env::args().skip(1) {
        match lateral_query::parse(&t) {
            Ok(q) => {
                println!("OK  {}", q.to_udm());
                match lateral_query::compile(&q, &lateral_query::Lists::default()) {
                    Ok(e) => println!("    {e}"),
                    Err(e) => println!("    compile error: {e}"),
                }
            }
            Err(e) => println!("ERR {e}"),
        }
    }
}
