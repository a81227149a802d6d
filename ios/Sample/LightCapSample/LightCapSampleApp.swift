import SwiftUI

@main
struct LightCapSampleApp: App {
    // One view model for the app's life: rotation and scene changes keep the loaded
    // engine instead of loading the pack again.
    @StateObject private var model = CaptionViewModel()

    var body: some Scene {
        WindowGroup {
            ContentView(model: model)
                .task { await model.start() }
        }
    }
}
