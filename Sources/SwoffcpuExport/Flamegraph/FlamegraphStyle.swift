/// The flame graph's inline stylesheet.
enum FlamegraphStyle {
    static func css(fontSize: Double) -> String {
        let size = FlamegraphText.number(fontSize, decimals: 2)
        return """

        text { font-family: Verdana, "DejaVu Sans", "Bitstream Vera Sans", "Liberation Sans", Arial, sans-serif; font-size: \(size)px; fill: rgb(0,0,0); }
        #title { font-size: 17px; text-anchor: middle; }
        #subtitle { fill: rgb(72,72,72); text-anchor: middle; }
        #search, #matched { text-anchor: end; }
        #details, #matched { fill: rgb(40,40,40); }
        .ctl { fill: rgb(24,64,170); cursor: pointer; }
        .ctl:hover { text-decoration: underline; }
        .hidden { display: none; }
        .li { cursor: pointer; }
        .li:hover text { text-decoration: underline; }
        #frames g { cursor: pointer; }
        #frames g:hover rect { stroke: rgb(0,0,0); stroke-width: 0.6; }
        #frames text { pointer-events: none; }
        #frames g.parent { opacity: 0.55; }
        #frames g.dim { opacity: 0.4; }

        """
    }
}
